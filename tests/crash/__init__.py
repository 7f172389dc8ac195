"""Crash tests' machinery: a bot process to kill (`child`) and the driver that kills it (`harness`)."""
