"""The /finetune demo: a pre-trained vision backbone with a new head next to the same task trained
from scratch, with the same time budget.

Imported by the bot process (no torch): images (Pillow checks), report, folds, jobs (DemoRunner: the
child process, its time limit and the per-machine lock), child (its entry point), chart (matplotlib,
imported when drawing), cli (`tutor finetune`), and helper B's Slack modules.
Imported only inside the child process (torch, timm): backbone, embedding, train, arms, pipeline.
"""
