"""Node registry: every node class of the pack, keyed by its public node id.

Node ids and the order of each node's widgets are a public contract: saved workflows
refer to nodes by id and store widget values by position. Never rename or reorder: a node
that must change gets a new id, and the old one stays, marked DEPRECATED (the newer frontend
then hides it from search), so that saved workflows still load.
"""

from .animation_nodes import DeforumAnimate, DeforumVideo
from .audio_nodes import DeforumAudioSchedule
from .coherence_nodes import DeforumColorCoherence, DeforumEnhance, DeforumNoise
from .controlnet_nodes import DeforumControlNet, DeforumControlNetLoader
from .depth_nodes import DeforumDepthModel, DeforumEstimateDepth
from .diffusion_nodes import DeforumDiffuser, DeforumDiffusersLoader, DeforumImg2Img
from .flow_nodes import DeforumOpticalFlow, DeforumRaftModel
from .hybrid_nodes import DeforumHybridVideo
from .image_nodes import DeforumAddNoise, DeforumColorMatch, DeforumEnhanceImage, DeforumWarp2D
from .interpolation_nodes import DeforumInterpolation
from .mask_nodes import DeforumMask
from .motion_nodes import DeforumMotion2D, DeforumMotion3D
from .routes import register_routes
from .schedule_nodes import DeforumPrompts, DeforumPromptSchedule, DeforumSchedule
from .settings_nodes import DeforumExportSettings, DeforumLoadSettings
from .video_nodes import DeforumVideoInput

NODE_CLASS_MAPPINGS = {
    "DeforumSchedule": DeforumSchedule,
    "DeforumPrompts": DeforumPrompts,
    "DeforumPromptSchedule": DeforumPromptSchedule,  # deprecated: saved workflows still load
    "DeforumMotion2D": DeforumMotion2D,
    "DeforumMotion3D": DeforumMotion3D,
    "DeforumColorCoherence": DeforumColorCoherence,
    "DeforumEnhance": DeforumEnhance,
    "DeforumNoise": DeforumNoise,
    "DeforumWarp2D": DeforumWarp2D,
    "DeforumColorMatch": DeforumColorMatch,
    "DeforumEnhanceImage": DeforumEnhanceImage,
    "DeforumAddNoise": DeforumAddNoise,
    "DeforumDiffuser": DeforumDiffuser,
    "DeforumDiffusersLoader": DeforumDiffusersLoader,
    "DeforumImg2Img": DeforumImg2Img,
    "DeforumAnimate": DeforumAnimate,
    "DeforumVideo": DeforumVideo,
    "DeforumDepthModel": DeforumDepthModel,
    "DeforumEstimateDepth": DeforumEstimateDepth,
    "DeforumLoadSettings": DeforumLoadSettings,
    "DeforumExportSettings": DeforumExportSettings,
    "DeforumVideoInput": DeforumVideoInput,
    "DeforumMask": DeforumMask,
    "DeforumInterpolation": DeforumInterpolation,
    "DeforumHybridVideo": DeforumHybridVideo,
    "DeforumOpticalFlow": DeforumOpticalFlow,
    "DeforumRaftModel": DeforumRaftModel,
    "DeforumAudioSchedule": DeforumAudioSchedule,
    "DeforumControlNet": DeforumControlNet,
    "DeforumControlNetLoader": DeforumControlNetLoader,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "DeforumSchedule": "Deforum Schedule",
    "DeforumPrompts": "Deforum Prompts",
    "DeforumPromptSchedule": "Deforum Prompt Schedule (deprecated: use Deforum Prompts)",
    "DeforumMotion2D": "Deforum Motion 2D",
    "DeforumMotion3D": "Deforum Motion 3D",
    "DeforumColorCoherence": "Deforum Color Coherence",
    "DeforumEnhance": "Deforum Contrast & Anti-Blur",
    "DeforumNoise": "Deforum Noise",
    "DeforumWarp2D": "Deforum Warp 2D (image)",
    "DeforumColorMatch": "Deforum Color Match (image)",
    "DeforumEnhanceImage": "Deforum Contrast & Anti-Blur (image)",
    "DeforumAddNoise": "Deforum Add Noise (image)",
    "DeforumDiffuser": "Deforum Diffuser (ComfyUI model)",
    "DeforumDiffusersLoader": "Deforum Diffusers Loader",
    "DeforumImg2Img": "Deforum Img2Img",
    "DeforumAnimate": "Deforum Animate (loop)",
    "DeforumVideo": "Deforum Video",
    "DeforumDepthModel": "Deforum Depth Model",
    "DeforumEstimateDepth": "Deforum Estimate Depth (image)",
    "DeforumLoadSettings": "Deforum Load Settings",
    "DeforumExportSettings": "Deforum Export Settings",
    "DeforumVideoInput": "Deforum Video Input",
    "DeforumMask": "Deforum Mask",
    "DeforumInterpolation": "Deforum Interpolation",
    "DeforumHybridVideo": "Deforum Hybrid Video",
    "DeforumOpticalFlow": "Deforum Optical Flow",
    "DeforumRaftModel": "Deforum RAFT Model",
    "DeforumAudioSchedule": "Deforum Audio Schedule",
    "DeforumControlNet": "Deforum ControlNet",
    "DeforumControlNetLoader": "Deforum ControlNet Loader",
}

register_routes()  # the page's live schedule summaries, when a ComfyUI server loads the pack
