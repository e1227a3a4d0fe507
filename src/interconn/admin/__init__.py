"""The operator's API: loopback-only by default, bearer-token protected."""
