"""Hidden tests of homework 1 (forward-mode AD with dual numbers); see common.py."""
