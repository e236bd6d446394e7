"""Finding a child and seeing who else works with them: search, the child view, the policy."""
