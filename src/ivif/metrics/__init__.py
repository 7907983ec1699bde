"""Fusion metrics under named reference profiles (``cddfuse``, ``zoo``, ``vifb``, ``tang``)."""

from .profiles import DEFAULT_PROFILE, MetricDef, Profile, get_profile, list_profiles, register_profile

__all__ = ["DEFAULT_PROFILE", "MetricDef", "Profile", "get_profile", "list_profiles", "register_profile"]
