"""Coverage-guided fuzzing of s2ws's entry points (atheris); see ``python -m fuzz.run --help``."""
