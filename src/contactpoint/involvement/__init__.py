"""Involvements: practitioners record that they work with a child; organisations map feed codes."""
