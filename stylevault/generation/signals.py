"""What the generation flow tells apps built on it (the campaign studio composes its ads).

generation_finished(sender=Generation, generation, succeeded) is sent inside the transaction
that records the outcome (delivery and capture, or release), so a receiver's writes commit or
roll back with it. Receivers must be quick: enqueue work, never do it.
"""

from django.dispatch import Signal

generation_finished = Signal()
