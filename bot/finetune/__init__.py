"""The /finetune demo as jobs the worker runs: a pre-trained vision backbone with a new head next
to the same task trained from scratch, with the same time budget; and labelling new images with
the head a demo trained.

Job modules (imported only in the worker process, with torch): demo_job, classify_job, and what
they use: pipeline, arms, backbone, embedding, train, chart (matplotlib).
Plain data the bot also reads (no torch): request (what a job carries), report (what a demo
found), images (header checks in the bot, decoding in the worker), folds (the judging rules), and
cli (`tutor finetune`, which runs a worker of its own). The Slack half is bot/slack/finetune/.
"""
