"""Patrols: reading and matching tracks (pure), rules, and the session-bound service."""
