"""What the pack does with the Deforum keys it does not turn into a parameter.

Two kinds: keys that never change the picture in the pack (the webui's own switches, the
notebook's gradient guidance, the notebook's internal state, output housekeeping), each
with the reason; and Deforum features by their keys. Those the pack cannot render yet
(the looper, checkpoint scheduling, ...) are reported as "not supported yet" when the file
switches the feature on and as ignored when it is off, so a report tells a user exactly where
the render will differ from Deforum's; those the import reads when they are on (masks, hybrid
video, optical flow, Parseq, ControlNet) are listed so that their keys read "ignored:
<feature> is off" otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Settings = Mapping[str, Any]

_WEBUI = "a setting of the AUTOMATIC1111 webui, not of the animation"
_GUIDANCE = "the notebook's gradient guidance; ComfyUI samplers have no such guidance"
_INTERNAL = "the notebook's internal state, saved with the settings"
_OUTPUT = "how Deforum saved or showed its output; the pack writes a run folder of PNGs"
_MODEL = "the checkpoint is the one connected in ComfyUI (or given with --model)"

IGNORED_KEYS: dict[str, str] = {
    **dict.fromkeys((
        "show_info_on_ui", "tiling", "restore_faces", "seed_resize_from_w",
        "seed_resize_from_h", "enable_hr", "firstphase_width", "firstphase_height",
        "override_these_with_webui", "from_img2img_instead_of_link", "store_frames_in_ram",
        "pix2pix_img_cfg_scale_schedule",
    ), _WEBUI),
    **dict.fromkeys((
        "mean_scale", "var_scale", "exposure_scale", "exposure_target", "colormatch_scale",
        "colormatch_image", "colormatch_n_colors", "ignore_sat_weight", "clip_name",
        "clip_scale", "aesthetics_scale", "cutn", "cut_pow", "init_mse_scale", "init_mse_image",
        "blue_scale", "gradient_wrt", "gradient_add_to", "decode_method", "grad_threshold_type",
        "clamp_grad_threshold", "clamp_start", "clamp_stop", "grad_inject_timing",
        "cond_uncond_sync", "dynamic_threshold", "static_threshold",
        "hybrid_use_video_as_mse_image",
    ), _GUIDANCE),
    **dict.fromkeys((
        "C", "f", "prompt", "timestring", "init_latent", "init_sample", "init_sample_raw",
        "mask_sample", "init_c", "seed_internal", "outdir", "cond_prompt", "cond_prompts",
        "uncond_prompt", "uncond_prompts", "precision", "image_path", "init_image_box",
    ), _INTERNAL),
    **dict.fromkeys((
        "save_settings", "save_samples", "display_samples", "save_sample_per_step",
        "show_sample_per_step", "filename_format", "make_grid", "grid_rows", "n_samples",
        "delete_imgs", "delete_input_frames", "log_weighted_subprompts",
    ), _OUTPUT),
    **dict.fromkeys(("sd_model_name", "sd_model_hash", "deforum_git_commit_id"), _MODEL),
    "resume_from_timestring": "the pack resumes a run by its run name (resume on Animate)",
    "resume_timestring": "the pack resumes a run by its run name (resume on Animate)",
    "bit_depth_output": "the pack writes 8-bit PNG frames",
    "overwrite_extracted_frames": "the pack decodes video frames as it renders; nothing is "
    "extracted to disk",
    "n_batch": "stills per prompt, in mode None only",
    "strength_0_no_init": "a frame without a picture is drawn from the prompt alone either way",
    "seed_enable_extras": "the webui switch of subseed and subseed_strength (read with them)",
    "prompt_weighting": "the notebook's sub-prompt weights; prompts go to the sampler as written",
    "normalize_prompt_weights": "the notebook's sub-prompt weights; prompts go to the sampler as "
    "written",
}  # fmt: skip


@dataclass(frozen=True)
class Feature:
    """A Deforum feature the pack cannot render yet: its keys, and whether a file uses it."""

    name: str
    keys: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    used: Callable[[Settings], bool] = lambda settings: False

    def owns(self, key: str) -> bool:
        return key in self.keys or (bool(self.prefixes) and key.startswith(self.prefixes))


def _on(*switches: str) -> Callable[[Settings], bool]:
    return lambda settings: any(_truthy(settings.get(switch)) for switch in switches)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "none", "false", "0")
    return bool(value)


def _not(value: str, key: str) -> Callable[[Settings], bool]:
    return lambda settings: str(settings.get(key, value)).strip().lower() != value


FEATURES: tuple[Feature, ...] = (
    Feature("masks", (
        "use_mask", "use_alpha_as_mask", "mask_file", "invert_mask", "mask_contrast_adjust",
        "mask_brightness_adjust", "overlay_mask", "mask_overlay_blur", "use_noise_mask",
        "mask_schedule", "noise_mask_schedule", "use_mask_video", "video_mask_path",
    )),  # read by the import when they are on (mask_import.py)
    Feature("the webui's inpainting fill and full-resolution masks", (
        "fill", "full_res_mask", "full_res_mask_padding",
    ), used=_on("use_mask", "use_mask_video")),
    Feature("hybrid video's human masks", ("hybrid_generate_human_masks",),
            used=_not("none", "hybrid_generate_human_masks")),
    Feature("hybrid video", (
        "hybrid_motion", "hybrid_composite", "hybrid_motion_use_prev_img", "hybrid_flow_method",
        "hybrid_flow_consistency", "hybrid_consistency_blur", "hybrid_generate_inputframes",
        "hybrid_use_first_frame_as_init_image", "hybrid_use_init_image",
    ), prefixes=("hybrid_comp", "hybrid_flow_factor")),  # read when on (hybrid_import.py)
    Feature("optical flow cadence and redo", (
        "optical_flow_cadence", "cadence_flow_factor_schedule", "optical_flow_redo_generation",
        "redo_flow_factor_schedule", "diffusion_redo",
    )),  # read when on (hybrid_import.py)
    Feature("ControlNet", (), prefixes=("cn_",)),  # read when on (controlnet_import.py)
    Feature("sd-webui-deforum 0.7's single ControlNet (re-save the file in Deforum 0.9)", (),
            prefixes=("controlnet_",), used=_on("controlnet_enabled")),
    Feature("Parseq", (
        "parseq_manifest", "parseq_use_deltas", "parseq_non_schedule_overrides",
    )),  # read when a manifest is named (parseq_import.py)
    Feature("guided images (the looper)", (
        "use_looper", "init_images", "image_strength_schedule", "blendFactorMax",
        "blendFactorSlope", "tweening_frames_schedule", "color_correction_factor",
    ), used=_on("use_looper")),
    Feature("checkpoint scheduling", ("enable_checkpoint_scheduling", "checkpoint_schedule"),
            used=_on("enable_checkpoint_scheduling")),
    Feature("eta scheduling", (
        "enable_ddim_eta_scheduling", "ddim_eta_schedule", "enable_ancestral_eta_scheduling",
        "ancestral_eta_schedule", "ddim_eta",
    ), used=_on("enable_ddim_eta_scheduling", "enable_ancestral_eta_scheduling")),
    Feature("reroll of blank frames", ("reroll_blank_frames", "reroll_patience"),
            used=_not("ignore", "reroll_blank_frames")),
    Feature("upscaling the video", (), prefixes=("r_upscale_",), used=_on("r_upscale_video")),
    Feature("frame interpolation", (), prefixes=("frame_interpolation_",),
            used=_not("none", "frame_interpolation_engine")),
    Feature("the video of hybrid video", (
        "video_init_path", "extract_nth_frame", "extract_from_frame", "extract_to_frame",
    )),  # read with hybrid video or Video Input
    Feature("the notebook's initial noise", ("add_init_noise", "init_noise"),
            used=_on("add_init_noise")),
)  # fmt: skip


def feature_of(key: str) -> Feature | None:
    for feature in FEATURES:
        if feature.owns(key):
            return feature
    return None
