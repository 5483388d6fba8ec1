"""Iteration-0 data for real models: IFT by teacher segmentation, EFT by mining judged step pairs.

ift.py: the teacher splits full solutions into "Step n: " steps; only faithful splits are kept.
eft.py: the policy's step-wise search yields candidate steps, rollouts score them, the teacher
judges best vs worst in both orders; pairs pass only the paper's two filters.
rollouts.py: Monte Carlo scores (share of rollouts reaching the gold answer).
teacher.py: ENGINE_SPEC parsing and the teacher's chat-rendered prompts. jobs.py: resumable chunks.
tables.py: the ift and eft table rows, written from the task plugin or imported from user files.
"""
