"""The learned reader: candidate sentences, features, answer phrases, ranking, answerability; its training."""
