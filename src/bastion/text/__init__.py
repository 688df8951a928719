"""Text: normalisation, language identification, near-duplicate signatures, classification."""
