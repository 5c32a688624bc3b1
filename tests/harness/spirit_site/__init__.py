"""A minimal Django project serving django-spirit for the tests (see tests/harness/spirit.py)."""
