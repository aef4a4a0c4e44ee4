"""Generated BPMN diagram interchange: the layered layout of a process's flow nodes inside its lanes."""
