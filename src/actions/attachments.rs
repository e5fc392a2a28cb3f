//! Incident attachments: files added to any incident, kept on disk under
//! their SHA-256 (the same file twice is stored once) with a row that says
//! what each one is. The content type is sniffed from the bytes (magic
//! numbers, else UTF-8 text, else `application/octet-stream`), never taken
//! from the client; the file name is cleaned of directories and control
//! characters. Downloads check the caller may see the incident.

use std::path::PathBuf;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{Actor, LocalError};
use crate::config::AttachmentSettings;
use crate::entities::{incident_attachment, incident_log_entry};
use crate::scope::Scope;

/// Longest file name kept (characters).
const MAX_NAME: usize = 255;

/// The file name without directories, control characters or surrounding
/// blanks; `attachment` when nothing is left.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// The content type of `head` (the first bytes of a file).
pub fn sniff(head: &[u8]) -> String {
    if let Some(t) = infer::get(head) {
        return t.mime_type().to_owned();
    }
    // Text when the start is UTF-8 (a cut in the middle of a character at
    // the end of `head` is allowed).
    match std::str::from_utf8(head) {
        Ok(s) if !s.contains('\0') => "text/plain; charset=utf-8".into(),
        Err(e) if e.error_len().is_none() && !head[..e.valid_up_to()].contains(&0) => {
            "text/plain; charset=utf-8".into()
        }
        _ => "application/octet-stream".into(),
    }
}

/// Where the content with this hash lives.
pub fn path_of(settings: &AttachmentSettings, sha256: &str) -> PathBuf {
    settings.dir.join(&sha256[..2]).join(sha256)
}

/// Adds `source` (an upload's temporary file) to an incident.
///
/// # Errors
/// `NotFound` for an unknown or invisible incident; `BadInput` for an empty
/// file or one over the size limit; nothing is stored then.
pub async fn add(
    ctx: &super::Context<'_>,
    settings: &AttachmentSettings,
    scope: &Scope,
    actor: &Actor,
    incident_id: &str,
    file_name: &str,
    source: std::fs::File,
) -> Result<incident_attachment::Model, LocalError> {
    let incident = super::visible(ctx.db, scope, incident_id).await?;
    let mut file = tokio::fs::File::from_std(source);
    file.seek(std::io::SeekFrom::Start(0)).await?;
    let size = file.metadata().await?.len();
    if size == 0 {
        return Err(LocalError::BadInput("the file is empty".into()));
    }
    if size > settings.max_bytes {
        return Err(LocalError::BadInput(format!(
            "the file is {size} bytes: attachments are at most {} bytes",
            settings.max_bytes
        )));
    }
    // Hash and sniff in one read.
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if head.len() < 8192 {
            head.extend_from_slice(&buf[..n.min(8192 - head.len())]);
        }
        hasher.update(&buf[..n]);
    }
    let sha256 = hex::encode(hasher.finalize());
    let content_type = sniff(&head);
    let target = path_of(settings, &sha256);
    // The same content stored before is touched, so the sweep of
    // unreferenced files (which spares recent ones) leaves it alone.
    if !touch(&target).await {
        store(&mut file, &target).await?;
    }
    let name = clean_name(file_name);
    let now = ctx.at();
    let model = incident_attachment::ActiveModel {
        incident_id: Set(incident.id.clone()),
        file_name: Set(name.clone()),
        content_type: Set(content_type),
        size_bytes: Set(i64::try_from(size).unwrap_or(i64::MAX)),
        sha256: Set(sha256),
        uploaded_by_account_id: Set(Some(actor.account_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(ctx.db)
    .await?;
    // A sweep that judged the old copy unreferenced just before the row
    // above was written may have removed it: store it again.
    if tokio::fs::metadata(&target).await.is_err() {
        store(&mut file, &target).await?;
    }
    incident_log_entry::ActiveModel {
        id: Set(super::new_id("LE")),
        incident_id: Set(incident.id.clone()),
        kind: Set("attachment_log_entry".into()),
        summary: Set(Some(format!("{} attached {name}", actor.name))),
        agent_type: Set(Some("pagerlens_account".into())),
        agent_id: Set(Some(actor.account_id.to_string())),
        channel_type: Set(Some("pagerlens".into())),
        user_id: Set(None),
        note: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(ctx.db)
    .await?;
    Ok(model)
}

/// Sets the modification time of an existing file to now; false when there
/// is no such file. On the blocking pool: std has no async `set_modified`.
async fn touch(path: &std::path::Path) -> bool {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// The next entry of a directory; one that cannot be read is skipped.
async fn next_entry(dir: &mut tokio::fs::ReadDir) -> Option<tokio::fs::DirEntry> {
    loop {
        match dir.next_entry().await {
            Ok(entry) => return entry,
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable attachment directory entry")
            }
        }
    }
}

/// Whether the file at `path` was last modified more than `grace` ago.
async fn older_than(path: &std::path::Path, grace: std::time::Duration) -> bool {
    tokio::fs::metadata(path)
        .await
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > grace)
}

/// Copies `file` to `target`: beside its final name first, then renamed, so
/// a reader never sees a half-written file.
async fn store(file: &mut tokio::fs::File, target: &std::path::Path) -> std::io::Result<()> {
    let dir = target.parent().expect("has a parent");
    tokio::fs::create_dir_all(dir).await?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
    file.seek(std::io::SeekFrom::Start(0)).await?;
    let mut out = tokio::fs::File::create(&partial).await?;
    tokio::io::copy(file, &mut out).await?;
    out.sync_all().await?;
    tokio::fs::rename(&partial, target).await
}

/// What [`sweep`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Stored files no attachment refers to any more (their incidents were
    /// deleted by retention).
    pub files: usize,
    /// Half-written copies left by an upload that crashed.
    pub partial: usize,
}

/// Removes the stored files no attachment row refers to, and the partial
/// copies of crashed uploads, when they were last modified more than
/// `grace` ago (an upload in progress touches or writes its file first).
///
/// # Errors
/// Database errors; a file that cannot be removed is logged and skipped.
pub async fn sweep<C: sea_orm::ConnectionTrait>(
    db: &C,
    settings: &AttachmentSettings,
    grace: std::time::Duration,
) -> Result<Swept, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    let mut swept = Swept::default();
    let Ok(mut shards) = tokio::fs::read_dir(&settings.dir).await else {
        return Ok(swept); // nothing stored yet
    };
    while let Some(shard) = next_entry(&mut shards).await {
        let Ok(mut files) = tokio::fs::read_dir(shard.path()).await else {
            continue;
        };
        let mut candidates = Vec::new();
        while let Some(f) = next_entry(&mut files).await {
            let path = f.path();
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".partial") {
                if older_than(&path, grace).await && tokio::fs::remove_file(&path).await.is_ok() {
                    swept.partial += 1;
                }
            } else if name.len() == 64
                && name.bytes().all(|b| b.is_ascii_hexdigit())
                && older_than(&path, grace).await
            {
                candidates.push(name);
            }
        }
        for chunk in candidates.chunks(500) {
            let kept: std::collections::HashSet<String> = incident_attachment::Entity::find()
                .select_only()
                .column(incident_attachment::Column::Sha256)
                .filter(incident_attachment::Column::Sha256.is_in(chunk.to_vec()))
                .into_tuple::<String>()
                .all(db)
                .await?
                .into_iter()
                .collect();
            for name in chunk.iter().filter(|n| !kept.contains(*n)) {
                let path = path_of(settings, name);
                // Looked at again: an upload of the same content may have
                // touched it since.
                if !older_than(&path, grace).await {
                    continue;
                }
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => swept.files += 1,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "could not remove an unreferenced attachment file")
                    }
                }
            }
        }
    }
    Ok(swept)
}

/// The attachments of each incident, oldest first; one statement. The
/// caller's scope applies, as to the incidents themselves.
///
/// # Errors
/// Database errors only.
pub async fn of_incidents<C: sea_orm::ConnectionTrait>(
    db: &C,
    scope: &Scope,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<incident_attachment::Model>>, sea_orm::DbErr> {
    let mut out: std::collections::HashMap<String, Vec<incident_attachment::Model>> =
        std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut select = incident_attachment::Entity::find()
        .filter(incident_attachment::Column::IncidentId.is_in(ids.to_vec()));
    if let Some(c) = scope.incident_ids_condition(incident_attachment::Column::IncidentId) {
        select = select.filter(c);
    }
    for a in select
        .order_by_asc(incident_attachment::Column::Id)
        .all(db)
        .await?
    {
        out.entry(a.incident_id.clone()).or_default().push(a);
    }
    Ok(out)
}

/// An attachment the caller may download, with the path of its content.
///
/// # Errors
/// `NotFound` for an unknown attachment or one of an incident the caller
/// may not see.
pub async fn find(
    db: &sea_orm::DatabaseConnection,
    settings: &AttachmentSettings,
    scope: &Scope,
    id: i32,
) -> Result<(incident_attachment::Model, PathBuf), LocalError> {
    let missing = || LocalError::NotFound(format!("No attachment with id {id}"));
    let a = incident_attachment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(missing)?;
    super::visible(db, scope, &a.incident_id)
        .await
        .map_err(|_| missing())?;
    let path = path_of(settings, &a.sha256);
    Ok((a, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_directories_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(clean_name("a\nb\r.txt"), "ab.txt");
        assert_eq!(clean_name(".."), "attachment");
        assert_eq!(clean_name("  "), "attachment");
        assert_eq!(clean_name(&"x".repeat(300)).chars().count(), 255);
    }

    #[test]
    fn content_types_are_sniffed() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff("héllo".as_bytes()), "text/plain; charset=utf-8");
        // A multi-byte character cut at the end of the sniffed head.
        assert_eq!(sniff(&"é".as_bytes()[..1]), "text/plain; charset=utf-8");
        assert_eq!(sniff(&[0, 159, 146, 150]), "application/octet-stream");
    }
}
