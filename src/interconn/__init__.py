"""interconn: a BFIA interconnection management-plane node."""

__version__ = "0.1.0"
