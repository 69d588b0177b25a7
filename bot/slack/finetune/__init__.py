"""The Slack half of /finetune: recording labelled images (labels.py), downloading them
(downloads.py), running a demo and streaming its results into a thread (flow.py, stream.py), the
words it says (messages.py) and replies in a demo's thread (thread.py). No torch: the demo itself
is a job the worker runs (bot/finetune/, bot/worker/)."""
