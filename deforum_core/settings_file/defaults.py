"""The default values of Deforum's own settings, per dialect, as data: an importer fills the keys a
settings file lacks with that dialect's own defaults. Keys and values are as each dialect's code
writes them, never normalised (N and L keep `diffusion_cadence` a string and say
'Match Frame 0 LAB'; A has the int 2 and 'LAB'). Every value is a JSON type.

A, sd-webui-deforum (the AUTOMATIC1111 extension): deforum-art/sd-webui-deforum at
322426851408ebca2cd49492bfeb1ec86e1dc869, scripts/deforum_helpers/: args.py (each entry's "value"
in DeforumArgs, DeforumAnimArgs, ParseqArgs, LoopArgs, DeforumOutputArgs; a plain entry as it is),
defaults.py (DeforumAnimPrompts, get_guided_imgs_default_json), ui_elements.py (the prompts
positive/negative boxes) and deforum_controlnet.py (the widgets of a ControlNet unit). Left out:
init_image_box (an image, no value), RootArgs (run state), and what a save adds about the machine
(sd_model_name, sd_model_hash, deforum_git_commit_id). A's loader keeps the UI's value for a key a
file lacks, and sets legacy_colormatch True when it is missing (deprecation_utils.py).

N, the Deforum notebook v0.7: deforum-art/deforum-stable-diffusion at
9d2caaae4567ce7e41e5b16db0866dd6b80cdea4 (the file last changed in 8943d8a6),
Deforum_Stable_Diffusion.py: DeforumArgs() then DeforumAnimArgs(), as its renderer dumps them. Its
load_args keeps the notebook's value for a key a file lacks. Left out: the machine's and the run's
keys (outdir, timestring, C, f, init_latent, init_sample, init_sample_raw, mask_sample, init_c,
seed_internal, precision, cond_prompt(s), uncond_prompt(s)); the notebook's prompts are a cell of
their own, not args (load_args reads a file's "prompts" into a local it never uses).

L, DeforumStableDiffusionLocal v0.7: HelixNGC7293/DeforumStableDiffusionLocal at
c8f718fa6bfb33834721055c73649c68869dd13b, run.py (last changed in 79eb530c) and the notebook v0.7
copy it runs, deforum-stable-diffusion/Deforum_Stable_Diffusion.py. run.py has no defaults: it reads
every settings key as `master_args[...]`, no .get (line 253: `W = master_args["width"]`), so a file
that lacks one stops L with a KeyError; it reads the animation keys only with
--enable_animation_mode and otherwise sets them itself (lines 181-232). The values here are L's
own: for a key read from the file, the notebook copy run.py's DeforumArgs was taken from (same
names, but L's file says width/height for W/H; `prompts` a list for stills, `animation_prompts` a
dict, as the copy's prompt cells and fps cell have them); for an animation key, run.py's literal
without the flag; for a key run.py sets in code whatever the file says (seed_behavior among them),
that literal. Not runSettings_Template.txt's values: the template is an example run (a fixed seed,
3D, cadence "8"), not a default; tests/unit/test_settings_defaults.py pins where it differs.

Short entries share lines (`# fmt: skip`) to keep the module under the tree's 400-line cap.
"""

_CN_UNIT_DEFAULTS: dict[str, object] = {
    "overwrite_frames": True, "vid_path": "", "mask_vid_path": "", "enabled": False,
    "low_vram": False, "pixel_perfect": False, "module": "none", "model": "None", "weight": "0:(1)",
    "guidance_start": "0:(0.0)", "guidance_end": "0:(1.0)", "processor_res": 64, "threshold_a": 64,
    "threshold_b": 64, "resize_mode": "Inner Fit (Scale to Fit)", "control_mode": "Balanced",
    "loopback_mode": False,
}  # fmt: skip

A_DEFAULTS: dict[str, object] = {
    # DeforumArgs(): image and sampling
    "W": 512, "H": 512, "show_info_on_ui": True, "tiling": False, "restore_faces": False,
    "seed_resize_from_w": 0, "seed_resize_from_h": 0,
    "seed": -1,  # -1 = a random seed at run time
    "sampler": "Euler a", "steps": 25,
    # batch and seed behaviour
    "batch_name": "Deforum_{timestring}",  # {timestring} is replaced at run time
    "seed_behavior": "iter", "seed_iter_N": 1,
    # init image
    "use_init": False, "strength": 0.8, "strength_0_no_init": True,
    # a run replaces it with None when use_init is off
    "init_image": "https://deforum.github.io/a1/I1.png",
    # mask
    "use_mask": False, "use_alpha_as_mask": False,
    "mask_file": "https://deforum.github.io/a1/M1.jpg", "invert_mask": False,
    "mask_contrast_adjust": 1.0, "mask_brightness_adjust": 1.0, "overlay_mask": True,
    "mask_overlay_blur": 4,
    "fill": "original",  # a radio of index type: saved files hold the index
    "full_res_mask": True, "full_res_mask_padding": 4,
    # blank frames and motion preview
    "reroll_blank_frames": "ignore", "reroll_patience": 10, "motion_preview_mode": False,
    # prompts: the UI's JSON prompts (DeforumAnimPrompts()) and the positive/negative boxes
    # (ui_elements.py); a UI save names these two animation_prompts_positive/_negative, a
    # run's save positive_prompts/negative_prompts
    "prompts": {
        "0": (
            "tiny cute bunny, vibrant diffraction, highly detailed, intricate, ultra hd, sharp "
            "photo, crepuscular rays, in focus"
        ),
        "30": (
            "anthropomorphic clean cat, surrounded by fractals, epic angle and pose, symmetrical, "
            "3d, depth of field"
        ),
        "60": "a beautiful coconut --neg photo, realistic",
        "90": "a beautiful durian, award winning photography",
    },
    "animation_prompts_positive": "", "animation_prompts_negative": "nsfw, nude",
    "positive_prompts": "", "negative_prompts": "nsfw, nude",
    # DeforumAnimArgs(): animation
    "animation_mode": "2D", "max_frames": 120, "border": "replicate",
    # motion
    "angle": "0: (0)", "zoom": "0: (1.0025+0.002*sin(1.25*3.14*t/30))", "translation_x": "0: (0)",
    "translation_y": "0: (0)", "translation_z": "0: (1.75)", "transform_center_x": "0: (0.5)",
    "transform_center_y": "0: (0.5)", "rotation_3d_x": "0: (0)", "rotation_3d_y": "0: (0)",
    "rotation_3d_z": "0: (0)", "enable_perspective_flip": False, "perspective_flip_theta": "0: (0)",
    "perspective_flip_phi": "0: (0)", "perspective_flip_gamma": "0: (0)",
    "perspective_flip_fv": "0: (53)",
    # noise, strength, contrast, CFG, steps
    "noise_schedule": "0: (0.065)", "strength_schedule": "0: (0.65)",
    "contrast_schedule": "0: (1.0)", "cfg_scale_schedule": "0: (7)",
    "enable_steps_scheduling": False, "steps_schedule": "0: (25)",
    # 3D depth and camera schedules
    "fov_schedule": "0: (70)", "aspect_ratio_schedule": "0: (1)",
    "aspect_ratio_use_old_formula": False, "near_schedule": "0: (200)",
    "far_schedule": "0: (10000)",
    # seed, subseed, sampler, masks, checkpoint, CLIP skip, noise multiplier schedules
    "seed_schedule": '0:(s), 1:(-1), "max_f-2":(-1), "max_f-1":(s)',
    "pix2pix_img_cfg_scale_schedule": "0:(1.5)", "enable_subseed_scheduling": False,
    "subseed_schedule": "0: (1)", "subseed_strength_schedule": "0: (0)",
    "enable_sampler_scheduling": False, "sampler_schedule": '0: ("Euler a")',
    "use_noise_mask": False, "mask_schedule": '0: ("{video_mask}")',
    "noise_mask_schedule": '0: ("{video_mask}")', "enable_checkpoint_scheduling": False,
    "checkpoint_schedule": '0: ("model1.ckpt"), 100: ("model2.safetensors")',
    "enable_clipskip_scheduling": False, "clipskip_schedule": "0: (2)",
    "enable_noise_multiplier_scheduling": True, "noise_multiplier_schedule": "0: (1.05)",
    # resume and sampler eta
    "resume_from_timestring": False, "resume_timestring": "20230129210106",
    "enable_ddim_eta_scheduling": False, "ddim_eta_schedule": "0: (0)",
    "enable_ancestral_eta_scheduling": False, "ancestral_eta_schedule": "0: (1)",
    # anti-blur (unsharp mask)
    "amount_schedule": "0: (0.1)", "kernel_schedule": "0: (5)", "sigma_schedule": "0: (1)",
    "threshold_schedule": "0: (0)",
    # coherence and cadence
    "color_coherence": "LAB", "color_coherence_image_path": "",
    "color_coherence_video_every_N_frames": 1, "color_force_grayscale": False,
    "legacy_colormatch": False,  # A's loader sets True when a file lacks it
    "diffusion_cadence": 2, "optical_flow_cadence": "None",
    "cadence_flow_factor_schedule": "0: (1)", "optical_flow_redo_generation": "None",
    "redo_flow_factor_schedule": "0: (1)",
    "diffusion_redo": "0",  # a plain string in args.py
    # noise type
    "noise_type": "perlin",
    "perlin_w": 8,  # perlin_w/_h: never saved nor loaded (settings.py)
    "perlin_h": 8, "perlin_octaves": 4, "perlin_persistence": 0.5,
    # 3D depth warping
    "use_depth_warping": True, "depth_algorithm": "Midas-3-Hybrid", "midas_weight": 0.2,
    "padding_mode": "border", "sampling_mode": "bicubic", "save_depth_maps": False,
    # video input
    "video_init_path": "https://deforum.github.io/a1/V1.mp4", "extract_nth_frame": 1,
    "extract_from_frame": 0, "extract_to_frame": -1, "overwrite_extracted_frames": False,
    "use_mask_video": False, "video_mask_path": "https://deforum.github.io/a1/VM1.mp4",
    # hybrid video
    "hybrid_comp_alpha_schedule": "0:(0.5)", "hybrid_comp_mask_blend_alpha_schedule": "0:(0.5)",
    "hybrid_comp_mask_contrast_schedule": "0:(1)",
    "hybrid_comp_mask_auto_contrast_cutoff_high_schedule": "0:(100)",
    "hybrid_comp_mask_auto_contrast_cutoff_low_schedule": "0:(0)",
    "hybrid_flow_factor_schedule": "0:(1)", "hybrid_generate_inputframes": False,
    "hybrid_generate_human_masks": "None", "hybrid_use_first_frame_as_init_image": True,
    "hybrid_motion": "None", "hybrid_motion_use_prev_img": False, "hybrid_flow_consistency": False,
    "hybrid_consistency_blur": 2, "hybrid_flow_method": "RAFT", "hybrid_composite": "None",
    "hybrid_use_init_image": False, "hybrid_comp_mask_type": "None",
    "hybrid_comp_mask_inverse": False, "hybrid_comp_mask_equalize": "None",
    "hybrid_comp_mask_auto_contrast": False, "hybrid_comp_save_extra_frames": False,
    # ParseqArgs()
    "parseq_manifest": None,  # None in args.py; the textbox saves ""
    "parseq_use_deltas": True, "parseq_non_schedule_overrides": True,
    # LoopArgs() (guided images)
    "use_looper": False,
    # a JSON text (get_guided_imgs_default_json())
    "init_images": (
        '{\n    "0": "https://deforum.github.io/a1/Gi1.png",\n    "max_f/4-5": '
        '"https://deforum.github.io/a1/Gi2.png",\n    "max_f/2-10": '
        '"https://deforum.github.io/a1/Gi3.png",\n    "3*max_f/4-15": '
        '"https://deforum.github.io/a1/Gi4.jpg",\n    "max_f-20": '
        '"https://deforum.github.io/a1/Gi1.png"\n}'
    ),
    "image_strength_schedule": "0:(0.75)", "blendFactorMax": "0:(0.35)",
    "blendFactorSlope": "0:(0.25)", "tweening_frames_schedule": "0:(20)",
    "color_correction_factor": "0:(0.075)",
    # ControlNet units 1-5 (deforum_controlnet.py, create_model_in_tab_ui: the same defaults for
    # every unit)
    **{
        f"cn_{unit}_{name}": value
        for unit in range(1, 6)
        for name, value in _CN_UNIT_DEFAULTS.items()
    },
    # DeforumOutputArgs(): video output, upscaling, frame interpolation
    "skip_video_creation": False, "fps": 15, "make_gif": False, "delete_imgs": False,
    "delete_input_frames": False,
    "image_path": "C:/SD/20230124234916_%09d.png",  # frames-to-video tool; never saved nor loaded
    "add_soundtrack": "None", "soundtrack_path": "https://deforum.github.io/a1/A1.mp3",
    "r_upscale_video": False, "r_upscale_factor": "x2", "r_upscale_model": "realesr-animevideov3",
    "r_upscale_keep_imgs": True, "store_frames_in_ram": False, "frame_interpolation_engine": "None",
    "frame_interpolation_x_amount": 2, "frame_interpolation_slow_mo_enabled": False,
    "frame_interpolation_slow_mo_amount": 2, "frame_interpolation_keep_imgs": False,
    "frame_interpolation_use_upscaled": False,
}  # fmt: skip

N_DEFAULTS: dict[str, object] = {
    # DeforumArgs(): image and sampling
    "W": 512,  # 512 - 512 % 64: the notebook rounds W, H to multiples of 64
    "H": 512, "bit_depth_output": 8,
    "seed": -1,  # -1 = a random seed at run time
    "sampler": "euler_ancestral", "steps": 50, "scale": 7, "ddim_eta": 0.0,
    "dynamic_threshold": None, "static_threshold": None,
    # save and display
    "save_samples": True, "save_settings": True, "display_samples": True,
    "save_sample_per_step": False, "show_sample_per_step": False,
    # batch
    "n_batch": 1, "n_samples": 1, "batch_name": "StableFun",
    "filename_format": "{timestring}_{index}_{prompt}.png", "seed_behavior": "iter",
    "seed_iter_N": 1, "make_grid": False, "grid_rows": 2,
    # init image and mask
    "use_init": False, "strength": 0.65, "strength_0_no_init": True,
    "init_image": "https://cdn.pixabay.com/photo/2022/07/30/13/10/green-longhorn-beetle-7353749_1280.jpg",
    "add_init_noise": False, "init_noise": 0.01, "use_mask": False, "use_alpha_as_mask": False,
    "mask_file": "https://www.filterforge.com/wiki/images/archive/b/b7/20080927223728%21Polygonal_gradient_thumb.jpg",
    "invert_mask": False, "mask_brightness_adjust": 1.0, "mask_contrast_adjust": 1.0,
    "overlay_mask": True, "mask_overlay_blur": 5,
    # guidance: exposure/contrast, colour match, CLIP/aesthetics, init MSE, blue
    "mean_scale": 0, "var_scale": 0, "exposure_scale": 0, "exposure_target": 0.5,
    "colormatch_scale": 0,
    "colormatch_image": "https://www.saasdesign.io/wp-content/uploads/2021/02/palette-3-min-980x588.png",
    "colormatch_n_colors": 4, "ignore_sat_weight": 0, "clip_name": "ViT-L/14", "clip_scale": 0,
    "aesthetics_scale": 0, "cutn": 1, "cut_pow": 0.0001, "init_mse_scale": 0,
    "init_mse_image": "https://cdn.pixabay.com/photo/2022/07/30/13/10/green-longhorn-beetle-7353749_1280.jpg",
    "blue_scale": 0,
    # conditional gradient, speed vs VRAM
    "gradient_wrt": "x0_pred", "gradient_add_to": "both", "decode_method": "linear",
    "grad_threshold_type": "dynamic", "clamp_grad_threshold": 0.2, "clamp_start": 0.2,
    "clamp_stop": 0.01,
    "grad_inject_timing": [1, 2, 3, 4, 5, 6, 7, 8, 9],  # list(range(1,10)) in the notebook
    "cond_uncond_sync": True,
    # DeforumAnimArgs(): animation
    "animation_mode": "None", "max_frames": 1000, "border": "replicate",
    # motion
    "angle": "0:(0)", "zoom": "0:(1.04)", "translation_x": "0:(10*sin(2*3.14*t/10))",
    "translation_y": "0:(0)", "translation_z": "0:(10)", "rotation_3d_x": "0:(0)",
    "rotation_3d_y": "0:(0)", "rotation_3d_z": "0:(0)", "flip_2d_perspective": False,
    "perspective_flip_theta": "0:(0)", "perspective_flip_phi": "0:(t%15)",
    "perspective_flip_gamma": "0:(0)", "perspective_flip_fv": "0:(53)",
    # noise, strength, contrast, hybrid compositing schedules
    "noise_schedule": "0: (0.02)", "strength_schedule": "0: (0.65)",
    "contrast_schedule": "0: (1.0)", "hybrid_comp_alpha_schedule": "0:(1)",
    "hybrid_comp_mask_blend_alpha_schedule": "0:(0.5)",
    "hybrid_comp_mask_contrast_schedule": "0:(1)",
    "hybrid_comp_mask_auto_contrast_cutoff_high_schedule": "0:(100)",
    "hybrid_comp_mask_auto_contrast_cutoff_low_schedule": "0:(0)",
    # sampler scheduling
    "enable_schedule_samplers": False,
    "sampler_schedule": (
        "0:('euler'),10:('dpm2'),20:('dpm2_ancestral'),30:('heun'),40:('euler'),"
        "50:('euler_ancestral'),60:('dpm_fast'),70:('dpm_adaptive'),80:('dpmpp_2s_a'),"
        "90:('dpmpp_2m')"
    ),
    # anti-blur (unsharp mask)
    "kernel_schedule": "0: (5)", "sigma_schedule": "0: (1.0)", "amount_schedule": "0: (0.2)",
    "threshold_schedule": "0: (0.0)",
    # coherence
    "color_coherence": "Match Frame 0 LAB", "color_coherence_video_every_N_frames": 1,
    "color_force_grayscale": False,
    "diffusion_cadence": "1",  # a string in the notebook
    # 3D depth warping
    "use_depth_warping": True, "midas_weight": 0.3, "near_plane": 200, "far_plane": 10000,
    "fov": 40, "padding_mode": "border", "sampling_mode": "bicubic", "save_depth_maps": False,
    # video input
    "video_init_path": "/content/video_in.mp4", "extract_nth_frame": 1,
    "overwrite_extracted_frames": True, "use_mask_video": False,
    "video_mask_path": "/content/video_in.mp4",
    # hybrid video
    "hybrid_generate_inputframes": False, "hybrid_use_first_frame_as_init_image": True,
    "hybrid_motion": "None", "hybrid_motion_use_prev_img": False,
    "hybrid_flow_method": "DIS Medium",
    "hybrid_composite": False,  # a bool in N (A: a string)
    "hybrid_comp_mask_type": "None", "hybrid_comp_mask_inverse": False,
    "hybrid_comp_mask_equalize": "None", "hybrid_comp_mask_auto_contrast": False,
    "hybrid_comp_save_extra_frames": False, "hybrid_use_video_as_mse_image": False,
    # interpolation, resume
    "interpolate_key_frames": False, "interpolate_x_frames": 20, "resume_from_timestring": False,
    "resume_timestring": "20220829210106",
}  # fmt: skip

L_DEFAULTS: dict[str, object] = {
    # read from the settings file by run.py (master_args[...], no default: a missing key is a
    # KeyError): the values of L's notebook v0.7 copy
    # image and sampling (L's file names width/height, run.py maps them to W/H)
    # the notebook copy's size, for its v2 768 model (run.py's own default model is a 512 v1-5)
    "width": 768, "height": 768, "bit_depth_output": 8,
    "seed": -1,  # -1 = a random seed at run time
    "sampler": "dpmpp_2s_a", "steps": 80, "scale": 7, "ddim_eta": 0.0,
    # batch
    "n_batch": 1, "batch_name": "StableFun", "filename_format": "{timestring}_{index}_{prompt}.png",
    # init image and mask
    "use_init": False, "strength": 0.1,
    "init_image": "https://cdn.pixabay.com/photo/2022/07/30/13/10/green-longhorn-beetle-7353749_1280.jpg",
    "use_mask": False, "use_alpha_as_mask": False,
    "mask_file": "https://www.filterforge.com/wiki/images/archive/b/b7/20080927223728%21Polygonal_gradient_thumb.jpg",
    "invert_mask": False, "mask_brightness_adjust": 1.0, "mask_contrast_adjust": 1.0,
    "overlay_mask": True, "mask_overlay_blur": 5,
    # guidance: exposure/contrast, colour match, CLIP/aesthetics, init MSE, blue
    "mean_scale": 0, "var_scale": 0, "exposure_scale": 0, "exposure_target": 0.5,
    "colormatch_scale": 0,
    "colormatch_image": "https://www.saasdesign.io/wp-content/uploads/2021/02/palette-3-min-980x588.png",
    "colormatch_n_colors": 4, "ignore_sat_weight": 0, "clip_name": "ViT-L/14", "clip_scale": 0,
    "aesthetics_scale": 0, "cutn": 1, "cut_pow": 0.0001, "init_mse_scale": 0,
    "init_mse_image": "https://cdn.pixabay.com/photo/2022/07/30/13/10/green-longhorn-beetle-7353749_1280.jpg",
    "blue_scale": 0,
    # conditional gradient, speed vs VRAM
    "gradient_wrt": "x0_pred", "gradient_add_to": "both", "decode_method": "linear",
    "grad_threshold_type": "dynamic", "clamp_grad_threshold": 0.2, "clamp_start": 0.2,
    "clamp_stop": 0.01, "cond_uncond_sync": True,
    # prompts: a list for stills, a dict for animation (read only with --enable_animation_mode)
    "prompts": [
        "a beautiful lake by Asher Brown Durand, trending on Artstation",
        "a beautiful portrait of a woman by Artgerm, trending on Artstation",
    ],
    "animation_prompts": {
        "0": "a beautiful apple, trending on Artstation",
        "20": "a beautiful banana, trending on Artstation",
        "30": "a beautiful coconut, trending on Artstation",
        "40": "a beautiful durian, trending on Artstation",
    },
    # animation keys, read only with --enable_animation_mode; the values are run.py's own, those it
    # uses without the flag
    "animation_mode": "None",
    "max_frames": 100,  # the notebook copy has 1000
    "border": "replicate",
    # motion
    "angle": "0:(0)", "zoom": "0:(1.04)", "translation_x": "0:(10*sin(2*3.14*t/10))",
    "translation_y": "0:(0)", "translation_z": "0:(10)", "rotation_3d_x": "0:(0)",
    "rotation_3d_y": "0:(0)", "rotation_3d_z": "0:(0)", "flip_2d_perspective": False,
    "perspective_flip_theta": "0:(0)", "perspective_flip_phi": "0:(t%15)",
    "perspective_flip_gamma": "0:(0)", "perspective_flip_fv": "0:(53)",
    # noise, strength, contrast
    "noise_schedule": "0: (0.02)", "strength_schedule": "0: (0.65)",
    "contrast_schedule": "0: (1.0)",
    # coherence
    "color_coherence": "Match Frame 0 LAB",
    "diffusion_cadence": "3",  # a string; the notebook copy has '1'
    # 3D depth warping
    "use_depth_warping": True, "midas_weight": 0.3, "near_plane": 200, "far_plane": 10000,
    "fov": 40, "padding_mode": "border", "sampling_mode": "bicubic", "save_depth_maps": False,
    # video input
    "video_init_path": "/content/video_in.mp4", "extract_nth_frame": 1,
    "overwrite_extracted_frames": True, "use_mask_video": False,
    "video_mask_path": "/content/video_in.mp4",
    # interpolation, resume
    "interpolate_key_frames": False, "interpolate_x_frames": 4, "resume_from_timestring": False,
    "resume_timestring": "20220829210106",
    # the video cell
    "fps": 12,
    # fixed in run.py: never read from the file (a file's value is ignored)
    "dynamic_threshold": None, "static_threshold": None, "save_samples": True,
    "save_settings": True, "display_samples": True, "save_sample_per_step": False,
    "show_sample_per_step": False, "prompt_weighting": True, "normalize_prompt_weights": True,
    "log_weighted_subprompts": False,
    "seed_behavior": "iter",  # run.py fixes it: the file's seed_behavior is ignored
    "seed_iter_N": 1, "make_grid": False, "grid_rows": 2, "strength_0_no_init": True,
    "grad_inject_timing": [1, 2, 3, 4, 5, 6, 7, 8, 9],  # list(range(1,10)) in run.py
    "n_samples": 1,
    # run.py's animation keys fixed in code (old hybrid_video_* names)
    "hybrid_video_comp_alpha_schedule": "0:(1)",
    "hybrid_video_comp_mask_blend_alpha_schedule": "0:(0.5)",
    "hybrid_video_comp_mask_contrast_schedule": "0:(1)",
    "hybrid_video_comp_mask_auto_contrast_cutoff_high_schedule": "0:(100)",
    "hybrid_video_comp_mask_auto_contrast_cutoff_low_schedule": "0:(0)",
    "kernel_schedule": "0: (5)", "sigma_schedule": "0: (1.0)", "amount_schedule": "0: (0.2)",
    "threshold_schedule": "0: (0.0)", "hybrid_video_generate_inputframes": False,
    "hybrid_video_use_first_frame_as_init_image": True, "hybrid_video_motion": "None",
    "hybrid_video_flow_method": "Farneback", "hybrid_video_composite": False,
    "hybrid_video_comp_mask_type": "None", "hybrid_video_comp_mask_inverse": False,
    "hybrid_video_comp_mask_equalize": "None", "hybrid_video_comp_mask_auto_contrast": False,
    "hybrid_video_comp_save_extra_frames": False, "hybrid_video_use_video_as_mse_image": False,
}  # fmt: skip

DIALECT_DEFAULTS: dict[str, dict[str, object]] = {"A": A_DEFAULTS, "N": N_DEFAULTS, "L": L_DEFAULTS}
