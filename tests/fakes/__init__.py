"""Fakes of remote services that speak their real protocols on 127.0.0.1 (port 0)."""
