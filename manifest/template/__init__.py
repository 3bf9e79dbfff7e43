"""Manifest template and translations.

This folder is a package only so that setuptools ships its JSON files in the wheel.
"""
