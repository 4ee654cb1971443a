CREATE TABLE `heartbeat` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `admin_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`admin_id` text NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`ip` text,
	`user_agent` text,
	FOREIGN KEY (`admin_id`) REFERENCES `administrators`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `admin_sessions_admin_idx` ON `admin_sessions` (`admin_id`);--> statement-breakpoint
CREATE TABLE `administrators` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`password_hash` text NOT NULL,
	`must_change_password` integer DEFAULT false NOT NULL,
	`role_id` text,
	`totp_secret` text,
	`totp_pending_secret` text,
	`totp_last_step` integer,
	`failed_sign_ins` integer DEFAULT 0 NOT NULL,
	`locked_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`role_id`) REFERENCES `roles`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `administrators_username_unique` ON `administrators` (`username`);--> statement-breakpoint
CREATE TABLE `roles` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`built_in` integer DEFAULT false NOT NULL,
	`permissions` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `roles_name_unique` ON `roles` (`name`);--> statement-breakpoint
CREATE TABLE `network_administrators` (
	`network_id` text NOT NULL,
	`admin_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`network_id`, `admin_id`),
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`admin_id`) REFERENCES `administrators`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `network_admins_admin_idx` ON `network_administrators` (`admin_id`);--> statement-breakpoint
CREATE TABLE `networks` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`federation_domain` text,
	`read_receipts` integer DEFAULT true NOT NULL,
	`file_management` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `security_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`name` text NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`settings` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `security_groups_name_uq` ON `security_groups` (`network_id`,`name`);--> statement-breakpoint
CREATE INDEX `security_groups_network_idx` ON `security_groups` (`network_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`username` text NOT NULL,
	`first_name` text DEFAULT '' NOT NULL,
	`last_name` text DEFAULT '' NOT NULL,
	`security_group_id` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`type` text DEFAULT 'user' NOT NULL,
	`password_hash` text NOT NULL,
	`failed_sign_ins` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`security_group_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_network_username_uq` ON `users` (`network_id`,`username`);--> statement-breakpoint
CREATE INDEX `users_group_idx` ON `users` (`security_group_id`);--> statement-breakpoint
CREATE INDEX `users_network_status_idx` ON `users` (`network_id`,`status`);--> statement-breakpoint
CREATE INDEX `users_network_type_idx` ON `users` (`network_id`,`type`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`label` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`role_id` text NOT NULL,
	`network_id` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`role_id`) REFERENCES `roles`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `administrators`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_token_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_network_idx` ON `api_tokens` (`network_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text,
	`actor_name` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`ip` text,
	`network_id` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX `audit_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `audit_action_idx` ON `audit_log` (`action`);--> statement-breakpoint
CREATE INDEX `audit_actor_idx` ON `audit_log` (`actor_name`);--> statement-breakpoint
CREATE TABLE `conversation_members` (
	`conversation_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text DEFAULT 'member' NOT NULL,
	`joined_at` integer NOT NULL,
	PRIMARY KEY(`conversation_id`, `user_id`),
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `conversation_members_user_idx` ON `conversation_members` (`user_id`);--> statement-breakpoint
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`kind` text NOT NULL,
	`title` text DEFAULT '' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`ttl` integer DEFAULT 0 NOT NULL,
	`bor` integer DEFAULT 0 NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `conversations_network_idx` ON `conversations` (`network_id`);--> statement-breakpoint
CREATE TABLE `device_cursors` (
	`device_id` text PRIMARY KEY NOT NULL,
	`acked_seq` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `device_sync_bundles` (
	`lookup_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`bundle` blob NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `device_sync_histories` (
	`lookup_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`archive` blob NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `device_sync_histories_user_idx` ON `device_sync_histories` (`user_id`);--> statement-breakpoint
CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`network_id` text NOT NULL,
	`certificate` blob NOT NULL,
	`token_hash` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `devices_user_idx` ON `devices` (`user_id`);--> statement-breakpoint
CREATE TABLE `network_compliance_devices` (
	`network_id` text PRIMARY KEY NOT NULL,
	`device_id` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `packet_wraps` (
	`device_id` text NOT NULL,
	`seq` integer NOT NULL,
	`wrap` blob NOT NULL,
	PRIMARY KEY(`device_id`, `seq`),
	FOREIGN KEY (`seq`) REFERENCES `packets`(`seq`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `packet_wraps_seq_idx` ON `packet_wraps` (`seq`);--> statement-breakpoint
CREATE TABLE `packets` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`packet_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`sender_device_id` text NOT NULL,
	`shared` blob NOT NULL,
	`received_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`bor` integer DEFAULT 0 NOT NULL,
	`directed` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `packets_packet_id_uq` ON `packets` (`packet_id`);--> statement-breakpoint
CREATE INDEX `packets_expires_idx` ON `packets` (`expires_at`);--> statement-breakpoint
CREATE TABLE `prekeys` (
	`device_id` text NOT NULL,
	`prekey_id` text NOT NULL,
	`kind` text NOT NULL,
	`signed` blob NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `prekey_id`),
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `prekeys_device_kind_idx` ON `prekeys` (`device_id`,`kind`);--> statement-breakpoint
CREATE TABLE `user_root_keys` (
	`user_id` text PRIMARY KEY NOT NULL,
	`suite` text NOT NULL,
	`public_key` blob NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `file_chunks` (
	`file_id` text NOT NULL,
	`idx` integer NOT NULL,
	`hash` text NOT NULL,
	`length` integer NOT NULL,
	PRIMARY KEY(`file_id`, `idx`),
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `file_chunks_hash_idx` ON `file_chunks` (`hash`);--> statement-breakpoint
CREATE TABLE `file_refs` (
	`file_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`packet_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`file_id`, `packet_id`),
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `file_refs_expires_idx` ON `file_refs` (`expires_at`);--> statement-breakpoint
CREATE INDEX `file_refs_conversation_idx` ON `file_refs` (`conversation_id`);--> statement-breakpoint
CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`uploader_user_id` text NOT NULL,
	`size` integer NOT NULL,
	`chunk_size` integer NOT NULL,
	`chunk_count` integer NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`touched_at` integer NOT NULL,
	`referenced_at` integer,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `files_state_touched_idx` ON `files` (`state`,`touched_at`);--> statement-breakpoint
CREATE TABLE `room_file_entries` (
	`id` text PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`parent_id` text DEFAULT '' NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`file_id` text,
	`size` integer DEFAULT 0 NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `room_file_entries_name_uq` ON `room_file_entries` (`room_id`,`parent_id`,`name`);--> statement-breakpoint
CREATE INDEX `room_file_entries_file_idx` ON `room_file_entries` (`file_id`);--> statement-breakpoint
CREATE TABLE `compliance_writers` (
	`network_id` text PRIMARY KEY NOT NULL,
	`bot_user_id` text NOT NULL,
	`mode` text NOT NULL,
	`options` text NOT NULL,
	`paused` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`bot_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `client_configs` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`security_group_id` text NOT NULL,
	`name` text NOT NULL,
	`file` text NOT NULL,
	`pin_certificates` integer DEFAULT false NOT NULL,
	`public_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`expired_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`security_group_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `client_configs_public_id_unique` ON `client_configs` (`public_id`);--> statement-breakpoint
CREATE INDEX `client_configs_network_idx` ON `client_configs` (`network_id`);--> statement-breakpoint
CREATE TABLE `default_rooms` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`security_group_id` text,
	`conversation_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`security_group_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `default_rooms_network_idx` ON `default_rooms` (`network_id`);--> statement-breakpoint
CREATE TABLE `guest_blocks` (
	`network_id` text NOT NULL,
	`guest_user_id` text NOT NULL,
	`blocked_by` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`network_id`, `guest_user_id`),
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`guest_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `guest_blocks_guest_idx` ON `guest_blocks` (`guest_user_id`);--> statement-breakpoint
CREATE TABLE `network_invitations` (
	`network_id` text NOT NULL,
	`admin_id` text NOT NULL,
	`invited_by` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`network_id`, `admin_id`),
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`admin_id`) REFERENCES `administrators`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `network_invitations_admin_idx` ON `network_invitations` (`admin_id`);--> statement-breakpoint
CREATE TABLE `network_options` (
	`network_id` text PRIMARY KEY NOT NULL,
	`event_logging` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `security_group_tags` (
	`group_id` text NOT NULL,
	`tag_id` text NOT NULL,
	PRIMARY KEY(`group_id`, `tag_id`),
	FOREIGN KEY (`group_id`) REFERENCES `security_groups`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`tag_id`) REFERENCES `security_tags`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `security_tags` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`colour` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `security_tags_network_idx` ON `security_tags` (`network_id`);--> statement-breakpoint
CREATE TABLE `bulk_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`network_id` text NOT NULL,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`total` integer NOT NULL,
	`processed` integer DEFAULT 0 NOT NULL,
	`matched` integer DEFAULT 0 NOT NULL,
	`unmatched` integer DEFAULT 0 NOT NULL,
	`changed` integer DEFAULT 0 NOT NULL,
	`report` text,
	`error` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`network_id`) REFERENCES `networks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `bulk_jobs_network_idx` ON `bulk_jobs` (`network_id`,`created_at`);