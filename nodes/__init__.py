"""Node registry: every node class of the pack, keyed by its public node id.

Node ids and the order of each node's widgets are a public contract: saved workflows
refer to nodes by id and store widget values by position. Never rename or reorder.
"""

from .schedule_nodes import DeforumPromptSchedule, DeforumSchedule

NODE_CLASS_MAPPINGS = {
    "DeforumSchedule": DeforumSchedule,
    "DeforumPromptSchedule": DeforumPromptSchedule,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "DeforumSchedule": "Deforum Schedule",
    "DeforumPromptSchedule": "Deforum Prompt Schedule",
}
