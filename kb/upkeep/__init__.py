"""Knowledge upkeep: gaps become draft FAQ entries in a review queue; overlaps are flagged."""
