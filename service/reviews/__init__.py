"""Review panels: rubrics, assignments, conflicts of interest, reviews."""
