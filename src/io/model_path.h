// Where a model lives: a local folder, or a Hugging Face model id found in the local HF cache
// (never the network).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace lethe::io {

// An existing folder is returned as is. Otherwise `path_or_id` ("Qwen/Qwen2.5-1.5B-Instruct") is
// looked up in the HF hub cache: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub; the folder is
// models--Org--Name/snapshots/<rev>/ with rev from refs/main, else the only (or newest) snapshot.
// Throws lethe::Error listing where it looked.
std::filesystem::path resolve_model_path(const std::string& path_or_id);

// The hub cache folder the lookup above uses (from the environment).
std::filesystem::path hf_hub_cache_dir();

}  // namespace lethe::io
