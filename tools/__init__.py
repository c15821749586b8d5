"""Developer tools (benchmarks, fixture builders): not part of the installed packages; run from the repository."""
