"""Maintenance scripts for eval/ (fixture regeneration); not imported by the grader."""
