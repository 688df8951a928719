"""Text classification: language, embeddings, the propaganda classifier, calibration, evaluation."""
