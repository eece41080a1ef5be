"""The Deep PU baselines of METHOD §10 behind the detector API (`runs.registry` lists them by method name)."""
from angular_dino.baselines.deep import ABC, AE, LOE, NNPU, PUAE, PUSVDD, SOEL, DeepSAD, DeepSVDD
from angular_dino.baselines.iforest import IForest

__all__ = ["ABC", "AE", "LOE", "NNPU", "PUAE", "PUSVDD", "SOEL", "DeepSAD", "DeepSVDD", "IForest"]
