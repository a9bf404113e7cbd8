//! `packpub pack`: validate a pack folder and write its reproducible archive.

use super::load_pack;
use crate::cli::PackArgs;
use crate::output::Output;
use crate::pack::archive;

pub fn run(args: &PackArgs, out: &Output) -> anyhow::Result<()> {
    let mtime = archive::mtime_from_env()?;
    let (pack, findings) = load_pack(&args.dir, Some(&args.output), &args.validation, out)?;
    out.verbose(&format!(
        "archiving {} entries under {}/ with mtime {mtime}",
        pack.entries.len(),
        pack.folder
    ));
    let (path, written) = archive::write_file(&pack, &args.output, mtime)?;
    let files = pack.file_count();
    out.success(
        &format!("packed {} {}", pack.id.name, pack.id.version),
        &[
            ("path", path.display().to_string()),
            ("digest", written.digest.to_string()),
            ("size", format!("{} bytes ({files} files)", written.size)),
        ],
    );
    out.print_json(&serde_json::json!({
        "name": pack.id.name.to_string(),
        "version": pack.id.version.to_string(),
        "path": path,
        "digest": written.digest,
        "size": written.size,
        "files": files,
        "warnings": findings,
    }));
    Ok(())
}
