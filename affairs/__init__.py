"""Village affairs disclosure (村务公开) and group accounts (小组账务公开): notices, effective
reading, reach, statements with a digest chain, questions, cadence."""
