"""Committed app icons drawn by `manifest/draw_icons.py`.

This folder is a package only so that setuptools ships the PNGs in the wheel; the builder
reads these files and never draws at run time, so Pillow stays a dev dependency.
"""
