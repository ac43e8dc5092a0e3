"""Upstream providers behind one protocol, found through the zonegate.providers entry points."""
