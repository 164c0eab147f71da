//! Faults and fault schedules: partitions, kill/restart, pause/resume.
