"""One run, from plan to verdict: the plan (`plan`), the stages pytest runs it in (`stages`), the
outcomes each test yields (`outcomes`), the verdict decided from them (`verdict`), and the replay
of failures (`triage`)."""
