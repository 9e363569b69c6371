"""Losses: reconstruction, adversarial, feature matching, balancer. Importing registers them."""
