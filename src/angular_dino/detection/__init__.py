"""What every detector shares: the fit/score/save interface, the fit monitor, the threshold and the metrics."""
