//! `packpub pack`: validate a pack folder and write its reproducible archive.

use crate::cli::PackArgs;
use crate::output::Output;
use crate::pack::{self, ArchiveTo, LocalInput};

pub fn run(args: &PackArgs, out: &Output) -> anyhow::Result<()> {
    let pack = pack::load(
        &LocalInput::Folder(args.dir.clone()),
        &args.build.options(),
        pack::read::Limits::default(),
        ArchiveTo::Dir(&args.output),
        out,
    )?;
    let path = pack.archive.path.as_ref().expect("written to OUTDIR");
    out.result(&path.display().to_string());
    out.success(
        &format!("packed {}", pack.id),
        &[
            ("digest", pack.archive.digest.to_string()),
            (
                "size",
                format!("{} bytes ({} files)", pack.archive.size, pack.files),
            ),
        ],
    );
    out.print_json(&serde_json::json!({
        "name": pack.id.name.to_string(),
        "version": pack.id.version.to_string(),
        "path": path,
        "digest": pack.archive.digest,
        "size": pack.archive.size,
        "files": pack.files,
        "warnings": pack.warnings,
    }));
    Ok(())
}
