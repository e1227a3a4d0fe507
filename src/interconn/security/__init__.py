"""Request signing and verification for the BFIA interconnection profile (see ``signing``)."""
