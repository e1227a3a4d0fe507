"""The partner client: signed calls from this node to other nodes."""
