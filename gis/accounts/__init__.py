"""User accounts, sign-in and the installation's mode (production or demo)."""
