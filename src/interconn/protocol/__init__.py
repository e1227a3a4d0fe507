"""Protocol core: pure rules shared by every resource kind."""
