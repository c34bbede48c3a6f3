"""Looking at runs after the fact: plots of a run's records, comparisons of runs, and the Dirac-GAN dynamics of
the update rules. Read-only: these read run directories (or run gancli's own rules on a toy game), never train."""
