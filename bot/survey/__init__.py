"""The employee maturity survey: questions and scoring, waves and answers, what employees see."""
