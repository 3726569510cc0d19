//! `metadata` of an OpenSLO document, shared by the v1 import (`openslo`) and the v2alpha
//! composite import (`openslo_composite`), which the v1 parser hands those documents to.

use serde::Deserialize;

/// `metadata` of an OpenSLO document (v1 and the v2alpha draft alike).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Metadata {
    pub(super) name: String,
    #[serde(default, rename = "displayName")]
    _display_name: Option<String>,
    #[serde(default, rename = "labels")]
    _labels: Option<serde_yaml_ng::Value>,
    #[serde(default, rename = "annotations")]
    _annotations: Option<serde_yaml_ng::Value>,
}
