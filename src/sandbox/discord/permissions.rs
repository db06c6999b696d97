//! Discord's permission model, computed as Discord computes it, and the rules Discord applies
//! when a bot writes permission overwrites.
//!
//! References (Discord's developer documentation, CC BY-SA 4.0; cited by page and section, our
//! own words and code):
//! - `topics/permissions`, "Permission Overwrites": the order overwrites apply in and the
//!   pseudocode `compute_base_permissions` / `compute_overwrites`.
//! - `topics/permissions`, "Implicit Permissions": without VIEW_CHANNEL nothing else in the
//!   channel counts.
//! - `resources/guild`, "Create Guild Channel", and `resources/channel`, "Modify Channel" and
//!   "Edit Channel Permissions": which bits a bot may allow or deny in an overwrite.
//!
//! Every function here is pure; the simulator's routes gather the guild, the member and the
//! channel and ask these functions what Discord would answer.

/// Permission bits (`topics/permissions`, "Bitwise Permission Flags"). Deliberately not shared
/// with the product's own constants (`integrations::discord::permissions`): a wrong bit there
/// must not become a wrong bit here, or the simulator would agree with the product's mistake.
pub const ADMINISTRATOR: u64 = 1 << 3;
pub const MANAGE_CHANNELS: u64 = 1 << 4;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const MANAGE_ROLES: u64 = 1 << 28;

/// Every permission bit Discord defines today (bits 0 to 52), which is what `ALL` means in the
/// documentation's pseudocode.
pub const ALL: u64 = (1 << 53) - 1;

/// What a new server's @everyone role holds (view, send, history, embeds, attachments,
/// reactions, voice and the like; nothing that manages the server).
pub const DEFAULT_EVERYONE: u64 = 2_222_085_186_637_376;

/// An overwrite's target type: a role or a member (`resources/channel`, "Overwrite Object").
pub const ROLE: u8 = 0;
pub const MEMBER: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overwrite {
    pub id: u64,
    /// [`ROLE`] or [`MEMBER`].
    pub kind: u8,
    pub allow: u64,
    pub deny: u64,
}

/// Who permissions are computed for: a member of a guild, with the guild's facts about them.
#[derive(Clone, Debug)]
pub struct Subject {
    pub guild_id: u64,
    pub user_id: u64,
    pub is_owner: bool,
    /// The @everyone role's permissions (the role whose id is the guild's id).
    pub everyone: u64,
    /// The member's other roles: `(role id, role permissions)`.
    pub roles: Vec<(u64, u64)>,
}

/// `compute_base_permissions`: the guild owner has everything; otherwise @everyone's
/// permissions OR-ed with each of the member's roles, and ADMINISTRATOR means everything.
pub fn base(subject: &Subject) -> u64 {
    if subject.is_owner {
        return ALL;
    }
    let permissions = subject
        .roles
        .iter()
        .fold(subject.everyone, |acc, (_, p)| acc | p);
    if permissions & ADMINISTRATOR == ADMINISTRATOR {
        return ALL;
    }
    permissions
}

/// `compute_overwrites`: from the base permissions, the @everyone overwrite (deny, then allow),
/// then all of the member's role overwrites together (deny, then allow), then the member's own
/// overwrite (deny, then allow). ADMINISTRATOR bypasses overwrites.
pub fn in_channel(subject: &Subject, overwrites: &[Overwrite]) -> u64 {
    let base = base(subject);
    if base & ADMINISTRATOR == ADMINISTRATOR {
        return ALL;
    }
    let mut permissions = base;
    if let Some(everyone) = overwrites
        .iter()
        .find(|o| o.kind == ROLE && o.id == subject.guild_id)
    {
        permissions &= !everyone.deny;
        permissions |= everyone.allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for (role, _) in &subject.roles {
        if let Some(o) = overwrites
            .iter()
            .find(|o| o.kind == ROLE && o.id == *role && *role != subject.guild_id)
        {
            allow |= o.allow;
            deny |= o.deny;
        }
    }
    permissions &= !deny;
    permissions |= allow;
    if let Some(member) = overwrites
        .iter()
        .find(|o| o.kind == MEMBER && o.id == subject.user_id)
    {
        permissions &= !member.deny;
        permissions |= member.allow;
    }
    permissions
}

/// Why Discord refuses a call: `50001 Missing Access` when the channel cannot be seen at all,
/// `50013 Missing Permissions` when it can but a needed bit is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    MissingAccess,
    MissingPermissions,
}

/// What a channel route needs: the channel must be visible ("Implicit Permissions": denying
/// VIEW_CHANNEL implicitly denies the rest), then every bit in `needed`.
pub fn require(permissions: u64, needed: u64) -> Result<(), Denied> {
    if permissions & VIEW_CHANNEL == 0 {
        return Err(Denied::MissingAccess);
    }
    if permissions & needed != needed {
        return Err(Denied::MissingPermissions);
    }
    Ok(())
}

/// Which call writes the overwrites: the rules differ between creating a channel and changing
/// an existing one.
#[derive(Clone, Copy, Debug)]
pub enum Write {
    /// "Create Guild Channel": only bits the bot has in the guild; MANAGE_ROLES only for
    /// administrators.
    Create,
    /// "Modify Channel" and "Edit Channel Permissions": only bits the bot has in the guild or
    /// the parent category, unless the bot has a MANAGE_ROLES overwrite in the channel.
    Change {
        /// The bot's permissions in the parent category, when the channel has one.
        parent: Option<u64>,
        /// Whether an overwrite in the channel itself allows the bot MANAGE_ROLES.
        manage_roles_overwrite: bool,
    },
}

/// Which overwrite rule refused the write, named for tests and for the refusal's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverwriteRefusal {
    /// Writing overwrites at all needs MANAGE_ROLES.
    NeedsManageRoles,
    /// An allowed or denied bit the bot does not hold itself.
    BitNotHeld(u64),
    /// MANAGE_ROLES in an overwrite, by a bot that is not an administrator.
    ManageRolesNeedsAdministrator,
}

/// Checks overwrites a bot is about to write. `base` is the bot's guild permissions;
/// `acting` is what it holds where the write happens (the guild for a new channel, the channel
/// for a change), which must include MANAGE_ROLES.
pub fn check_overwrite_write(
    write: Write,
    base: u64,
    acting: u64,
    overwrites: &[Overwrite],
) -> Result<(), OverwriteRefusal> {
    if overwrites.is_empty() {
        return Ok(());
    }
    if base & ADMINISTRATOR == ADMINISTRATOR {
        return Ok(());
    }
    if acting & MANAGE_ROLES == 0 {
        return Err(OverwriteRefusal::NeedsManageRoles);
    }
    let (held, exempt) = match write {
        Write::Create => (base, false),
        Write::Change {
            parent,
            manage_roles_overwrite,
        } => (base | parent.unwrap_or(0), manage_roles_overwrite),
    };
    if exempt {
        return Ok(());
    }
    for o in overwrites {
        let written = o.allow | o.deny;
        if written & MANAGE_ROLES != 0 {
            return Err(OverwriteRefusal::ManageRolesNeedsAdministrator);
        }
        let missing = written & !held;
        if missing != 0 {
            return Err(OverwriteRefusal::BitNotHeld(missing));
        }
    }
    Ok(())
}

/// Whether an overwrite that applies to this subject (their own, or one of their roles')
/// allows MANAGE_ROLES: the exception "Modify Channel" and "Edit Channel Permissions" make.
pub fn has_manage_roles_overwrite(subject: &Subject, overwrites: &[Overwrite]) -> bool {
    overwrites.iter().any(|o| {
        o.allow & MANAGE_ROLES != 0
            && match o.kind {
                MEMBER => o.id == subject.user_id,
                _ => o.id != subject.guild_id && subject.roles.iter().any(|(r, _)| *r == o.id),
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 100;
    const BOT: u64 = 7;
    const BOT_ROLE: u64 = 70;
    const LEAD: u64 = 8;
    /// What the product's install asks for.
    const INSTALL: u64 = VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | MANAGE_CHANNELS
        | MANAGE_ROLES
        | EMBED_LINKS
        | ATTACH_FILES;

    fn bot(role_permissions: u64) -> Subject {
        Subject {
            guild_id: GUILD,
            user_id: BOT,
            is_owner: false,
            everyone: DEFAULT_EVERYONE,
            roles: vec![(BOT_ROLE, role_permissions)],
        }
    }

    fn member(user_id: u64, roles: Vec<(u64, u64)>) -> Subject {
        Subject {
            guild_id: GUILD,
            user_id,
            is_owner: false,
            everyone: DEFAULT_EVERYONE,
            roles,
        }
    }

    fn ow(id: u64, kind: u8, allow: u64, deny: u64) -> Overwrite {
        Overwrite {
            id,
            kind,
            allow,
            deny,
        }
    }

    /// A private lead channel as the product writes it.
    fn lead_channel() -> Vec<Overwrite> {
        vec![
            ow(GUILD, ROLE, 0, VIEW_CHANNEL),
            ow(
                BOT,
                MEMBER,
                VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | EMBED_LINKS | ATTACH_FILES,
                0,
            ),
            ow(LEAD, MEMBER, VIEW_CHANNEL | SEND_MESSAGES, 0),
        ]
    }

    #[test]
    fn base_permissions_are_everyone_or_ed_with_the_members_roles() {
        // "Base permissions given to @everyone are applied at a guild level", then "Permissions
        // allowed to a user by their roles".
        let subject = member(LEAD, vec![(1, MANAGE_CHANNELS), (2, MANAGE_ROLES)]);
        assert_eq!(
            base(&subject),
            DEFAULT_EVERYONE | MANAGE_CHANNELS | MANAGE_ROLES
        );
        assert_eq!(base(&member(LEAD, vec![])), DEFAULT_EVERYONE);
    }

    #[test]
    fn the_guild_owner_and_administrators_have_every_permission() {
        // compute_base_permissions: `if guild.is_owner(member): return ALL`, and
        // `if permissions & ADMINISTRATOR == ADMINISTRATOR: return ALL`.
        let mut owner = member(LEAD, vec![]);
        owner.is_owner = true;
        owner.everyone = 0;
        assert_eq!(base(&owner), ALL);
        assert_eq!(base(&bot(ADMINISTRATOR)), ALL);
    }

    #[test]
    fn administrator_bypasses_channel_overwrites() {
        // "ADMINISTRATOR overrides any potential permission overwrites".
        let denied = [ow(BOT, MEMBER, 0, VIEW_CHANNEL | SEND_MESSAGES)];
        assert_eq!(in_channel(&bot(ADMINISTRATOR), &denied), ALL);
    }

    #[test]
    fn overwrites_apply_everyone_then_roles_then_the_member() {
        // Steps 3-8 of "Permission Overwrites": @everyone deny/allow, role deny/allow, member
        // deny/allow, each later step winning over the earlier.
        let role = 55;
        let subject = member(LEAD, vec![(role, 0)]);
        let everyone_denies = [ow(GUILD, ROLE, 0, VIEW_CHANNEL)];
        assert_eq!(in_channel(&subject, &everyone_denies) & VIEW_CHANNEL, 0);
        let role_allows = [
            ow(GUILD, ROLE, 0, VIEW_CHANNEL),
            ow(role, ROLE, VIEW_CHANNEL, 0),
        ];
        assert_ne!(in_channel(&subject, &role_allows) & VIEW_CHANNEL, 0);
        let member_denies = [
            ow(GUILD, ROLE, 0, VIEW_CHANNEL),
            ow(role, ROLE, VIEW_CHANNEL, 0),
            ow(LEAD, MEMBER, 0, VIEW_CHANNEL),
        ];
        assert_eq!(in_channel(&subject, &member_denies) & VIEW_CHANNEL, 0);
    }

    #[test]
    fn role_overwrites_combine_so_an_allow_beats_another_roles_deny() {
        // "A denies VIEW_CHANNEL ... B allows VIEW_CHANNEL ... The user would ultimately be able
        // to view the #coolstuff channel, regardless of the role positions."
        let subject = member(LEAD, vec![(1, 0), (2, 0)]);
        let overwrites = [ow(1, ROLE, 0, VIEW_CHANNEL), ow(2, ROLE, VIEW_CHANNEL, 0)];
        assert_ne!(in_channel(&subject, &overwrites) & VIEW_CHANNEL, 0);
    }

    #[test]
    fn a_lead_channel_hides_from_everyone_but_the_bot_and_the_lead() {
        let channel = lead_channel();
        assert_eq!(
            require(in_channel(&member(9, vec![]), &channel), 0),
            Err(Denied::MissingAccess)
        );
        assert!(require(in_channel(&member(LEAD, vec![]), &channel), SEND_MESSAGES).is_ok());
        assert!(require(in_channel(&bot(INSTALL), &channel), SEND_MESSAGES).is_ok());
        // The bot keeps MANAGE_ROLES from its role: nothing in the channel denies it.
        assert_ne!(in_channel(&bot(INSTALL), &channel) & MANAGE_ROLES, 0);
    }

    #[test]
    fn without_view_channel_nothing_else_counts() {
        // "Denying a user or a role VIEW_CHANNEL on a channel implicitly denies other
        // permissions on the channel."
        assert_eq!(
            require(SEND_MESSAGES, SEND_MESSAGES),
            Err(Denied::MissingAccess)
        );
        assert_eq!(
            require(VIEW_CHANNEL, SEND_MESSAGES),
            Err(Denied::MissingPermissions)
        );
        assert_eq!(require(VIEW_CHANNEL | SEND_MESSAGES, SEND_MESSAGES), Ok(()));
    }

    #[test]
    fn creating_with_overwrites_allows_only_bits_the_bot_has_in_the_guild() {
        // Create Guild Channel: "only permissions your bot has in the guild can be
        // allowed/denied".
        let base = base(&bot(INSTALL));
        let ok = [
            ow(GUILD, ROLE, 0, VIEW_CHANNEL),
            ow(BOT, MEMBER, VIEW_CHANNEL, 0),
        ];
        assert_eq!(
            check_overwrite_write(Write::Create, base, base, &ok),
            Ok(())
        );
        let kick = 1 << 1;
        let not_held = [ow(LEAD, MEMBER, kick, 0)];
        assert_eq!(
            check_overwrite_write(Write::Create, base, base, &not_held),
            Err(OverwriteRefusal::BitNotHeld(kick))
        );
        let denied_not_held = [ow(GUILD, ROLE, 0, kick)];
        assert_eq!(
            check_overwrite_write(Write::Create, base, base, &denied_not_held),
            Err(OverwriteRefusal::BitNotHeld(kick))
        );
    }

    #[test]
    fn manage_roles_in_a_new_channel_is_for_administrators_only() {
        // Create Guild Channel: "Setting MANAGE_ROLES permission in channels is only possible
        // for guild administrators."
        let overwrites = [ow(BOT, MEMBER, VIEW_CHANNEL | MANAGE_ROLES, 0)];
        let base_bot = base(&bot(INSTALL));
        assert_eq!(
            check_overwrite_write(Write::Create, base_bot, base_bot, &overwrites),
            Err(OverwriteRefusal::ManageRolesNeedsAdministrator)
        );
        let admin = base(&bot(ADMINISTRATOR));
        assert_eq!(
            check_overwrite_write(Write::Create, admin, admin, &overwrites),
            Ok(())
        );
    }

    #[test]
    fn writing_overwrites_needs_manage_roles() {
        // Modify Channel: "If modifying permission overwrites, the MANAGE_ROLES permission is
        // required"; Edit Channel Permissions: "Requires the MANAGE_ROLES permission".
        let without = base(&bot(INSTALL & !MANAGE_ROLES));
        let overwrites = [ow(LEAD, MEMBER, VIEW_CHANNEL, 0)];
        for write in [
            Write::Create,
            Write::Change {
                parent: None,
                manage_roles_overwrite: false,
            },
        ] {
            assert_eq!(
                check_overwrite_write(write, without, without, &overwrites),
                Err(OverwriteRefusal::NeedsManageRoles)
            );
        }
        // A channel with no overwrites written needs nothing extra.
        assert_eq!(
            check_overwrite_write(Write::Create, without, without, &[]),
            Ok(())
        );
    }

    #[test]
    fn a_change_may_also_use_bits_the_bot_has_in_the_parent_category() {
        // Edit Channel Permissions: "Only permissions your bot has in the guild or parent
        // channel (if applicable) can be allowed/denied".
        let base_bot = base(&bot(INSTALL));
        let kick = 1 << 1;
        let overwrites = [ow(LEAD, MEMBER, kick, 0)];
        let change = |parent| Write::Change {
            parent,
            manage_roles_overwrite: false,
        };
        assert_eq!(
            check_overwrite_write(change(None), base_bot, base_bot, &overwrites),
            Err(OverwriteRefusal::BitNotHeld(kick))
        );
        assert_eq!(
            check_overwrite_write(change(Some(kick)), base_bot, base_bot, &overwrites),
            Ok(())
        );
    }

    #[test]
    fn a_manage_roles_overwrite_in_the_channel_lifts_the_bit_rule_for_changes() {
        // Edit Channel Permissions: "(unless your bot has a MANAGE_ROLES overwrite in the
        // channel)".
        let subject = bot(INSTALL);
        let channel = [ow(BOT, MEMBER, VIEW_CHANNEL | MANAGE_ROLES, 0)];
        assert!(has_manage_roles_overwrite(&subject, &channel));
        assert!(!has_manage_roles_overwrite(&subject, &lead_channel()));
        let role_grant = [ow(BOT_ROLE, ROLE, MANAGE_ROLES, 0)];
        assert!(has_manage_roles_overwrite(&subject, &role_grant));
        let base_bot = base(&subject);
        let kick = 1 << 1;
        let write = Write::Change {
            parent: None,
            manage_roles_overwrite: true,
        };
        assert_eq!(
            check_overwrite_write(write, base_bot, base_bot, &[ow(LEAD, MEMBER, kick, 0)]),
            Ok(())
        );
    }
}
