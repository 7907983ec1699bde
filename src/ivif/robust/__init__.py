"""Robustness: common corruptions (``perturbations``) and gradient attacks (``attacks``: FGSM, PGD)."""

from .perturbations import PERTURBATIONS, perturb, perturb_pair

__all__ = ["PERTURBATIONS", "perturb", "perturb_pair"]
