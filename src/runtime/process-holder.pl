#!/usr/bin/perl
# podvisor's process holder: the parent of every container's main process (like conmon, but one
# per daemon). See process-holder.ts for why it exists and for its protocol, which is, one line each:
#
#   in:  spawn SEQ EXITFILE LOG PROCS CWD ARGC ARG... ENVC ENV...   (every field but SEQ/ARGC/ENVC hex)
#        signal SEQ PID SIGNO
#        watch SEQ PID CGROUP-HEX                                      (a process it did not start)
#   out: started SEQ PID | failed SEQ STAGE ERRNO-TEXT-HEX | ok SEQ | watching SEQ PID
#        exit PID WAIT-STATUS EMPTY KILLED | gone PID EMPTY KILLED
#
# It forks each container from this small process (cheap, unlike forking a big daemon), reaps it
# with waitpid(-1) (one call per exit, not one per child), writes its wait status to EXITFILE before
# it tells the daemon, and signals a pid only while it is its own unreaped child (so a reused pid is
# never hit). A container is its main process: once it is reaped, whatever it left in its cgroup is
# killed at once (see end_leftovers). When the daemon goes away (stdin at end), it keeps reaping until
# its last child is gone, so exit statuses outlive a crash of the daemon, and goes on watching what it
# was asked to watch. Only perl-base modules: present on every Debian.
use strict;
use warnings;
use POSIX qw(O_WRONLY WNOHANG _exit setsid);
use Errno qw(EINTR EAGAIN);

# Inherited descriptors other than stdin/stdout/stderr: never pass the daemon's on (Deno lets
# children inherit its sockets); this process outlives a crashed daemon.
if (opendir(my $fds, "/proc/self/fd")) {
  my @inherited = grep { /^\d+$/ && $_ > 2 } readdir($fds);
  closedir($fds);
  POSIX::close($_) for @inherited;
}
open(STDERR, ">", "/dev/null");

my %live;            # pid => [exit file, cgroup folder or ""]
my %watched;         # pidfd => [pid, cgroup folder]: main processes of containers it did not start
my $watched_bits = "";    # the same pidfds as a select() bit string, kept as they come and go
my $daemon = 1;      # stdin still open
my $input = "";
my $output = "";
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
$wake_w->blocking(0);
$wake_r->blocking(0);
$SIG{CHLD} = sub { local $!; syswrite($wake_w, "x") };    # keeps the errno of what it interrupted (command-runner.pl)
$SIG{PIPE} = "IGNORE";
$SIG{$_} = "IGNORE" for qw(HUP INT TERM QUIT USR1 USR2);

sub unhex { return pack("H*", $_[0]) }
sub hex_of { return unpack("H*", $_[0]) }

sub say_line {
  return unless $daemon;
  $output .= "$_[0]\n";
}

sub flush_output {
  while ($daemon && length $output) {
    my $n = syswrite(STDOUT, $output);
    if (!defined $n) {
      next if $! == EINTR;
      if ($! == EAGAIN) { my $w = ""; vec($w, 1, 1) = 1; select(undef, $w, undef, 1); next; }
      $daemon = 0;    # the daemon is gone: exit files carry what it missed
      $output = "";
      return;
    }
    substr($output, 0, $n, "");
  }
}

# The exit file was made empty at the spawn: the status goes into it in place, one short write
# (whole or not at all to a crash; the reader wants its newline). No file is created here: on
# ext4 without a journal each new inode costs more the more were deleted in the last seconds,
# and thousands of containers end at once. Made at the spawn or not, it is written then.
sub record_exit {
  my ($file, $status) = @_;
  return if $file eq "";
  if (open(my $fh, "+<", $file)) {
    print $fh "$status\n";
    close($fh);
    return;
  }
  my $tmp = "$file.tmp";
  if (open(my $fh, ">", $tmp)) {
    print $fh "$status\n";
    unlink($tmp) unless close($fh) && rename($tmp, $file);    # a full disk, say: the daemon still hears it
  }
}

# Thousands may end at once: their reports go out every few dozen, so the daemon is at work on the
# first ones while the last are reaped, instead of waiting for the whole burst.
my $reports_per_flush = 32;

# 1 when the container's cgroup holds no process any more (read here, in this small process, so
# that the daemon need not read it for each of thousands of exits), else 0: some still run, or
# there is no cgroup, or it cannot be read. Once empty it stays empty: only a spawn puts a process in.
sub cgroup_empty {
  my ($dir) = @_;
  return 0 if $dir eq "";
  open(my $fh, "<", "$dir/cgroup.events") or return 0;
  local $/;
  my $events = <$fh>;
  close($fh);
  return defined $events && $events =~ /^populated 0$/m ? 1 : 0;
}

# SIGKILL to every process of the cgroup and below (cgroup.kill, which no fork escapes); 1 if written.
sub kill_cgroup {
  my ($dir) = @_;
  sysopen(my $fh, "$dir/cgroup.kill", O_WRONLY) or return 0;
  my $written = syswrite($fh, "1");
  close($fh);
  return defined $written && $written == 1 ? 1 : 0;
}

# The main-exit rule: a container is its main process. Once that is gone, what it left behind in its
# cgroup (without one: in its process group, which setsid made its own) is killed at once, here,
# without a round trip through the daemon — what the kernel does to a pid namespace whose init exits.
# Says "EMPTY KILLED": "1 0" nothing was left; "0 1" the rest was killed (it is gone moments later:
# the daemon waits for cgroup.events); "0 0" it could not be killed (the daemon tries itself).
sub end_leftovers {
  my ($pid, $dir) = @_;
  if ($dir eq "") {
    kill("-KILL", $pid);    # the group is gone already, or killed now (its pgid cannot be reused while a member lives)
    return "0 1";
  }
  return "1 0" if cgroup_empty($dir);
  return "0 " . kill_cgroup($dir);
}

sub reap {
  my $reaped = 0;
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $status = $?;
    my $held = delete $live{$pid};
    next unless defined $held;
    record_exit($held->[0], $status);
    say_line("exit $pid $status " . end_leftovers($pid, $held->[1]));
    flush_output() if ++$reaped % $reports_per_flush == 0;
  }
}

# Whether PID is listed in the cgroup's own cgroup.procs (a reused pid cannot be: see process-adopted.ts).
sub in_cgroup {
  my ($pid, $dir) = @_;
  open(my $fh, "<", "$dir/cgroup.procs") or return 0;
  while (my $line = <$fh>) {
    chomp $line;
    if ($line eq $pid) { close($fh); return 1; }
  }
  close($fh);
  return 0;
}

my $SYS_pidfd_open = 434;    # the same number on every architecture

# A container's main process that is not its child (started by an earlier holder that is gone): it is
# watched through a pidfd, which becomes readable when the process exits and cannot name a reused pid.
# The pidfd is opened first and the pid then found in the container's cgroup, so it is that process.
# One that is gone already (or was never in the cgroup) ends the container at once.
sub watch {
  my ($seq, $pid, $dir) = @_;
  $dir = unhex($dir // "");
  return say_line("failed $seq watch " . hex_of("not a pid: $pid")) if $pid !~ /^[1-9]\d*$/;
  return say_line("failed $seq watch " . hex_of("no cgroup")) if $dir eq "";
  my $fd = syscall($SYS_pidfd_open, $pid + 0, 0);
  return say_line("failed $seq watch " . hex_of("pidfd_open: $!")) if $fd < 0 && !$!{ESRCH};
  say_line("watching $seq $pid");
  if ($fd >= 0 && in_cgroup($pid, $dir)) {
    $watched{$fd} = [$pid, $dir];
    vec($watched_bits, $fd, 1) = 1;
    return;
  }
  POSIX::close($fd) if $fd >= 0;
  say_line("gone $pid " . end_leftovers($pid, $dir));
}

# Every watched process that has exited: its cgroup's rest is killed, and the daemon told.
sub end_watched {
  my ($ready) = @_;
  for my $fd (keys %watched) {
    next unless vec($ready, $fd, 1);
    my ($pid, $dir) = @{ delete $watched{$fd} };
    vec($watched_bits, $fd, 1) = 0;
    POSIX::close($fd);
    say_line("gone $pid " . end_leftovers($pid, $dir));
  }
}

sub spawn {
  my ($seq, $exit_file, $log, $procs, $cwd, @rest) = @_;
  my $argc = shift @rest;
  my @argv = map { unhex($_) } splice(@rest, 0, $argc);
  my $envc = shift @rest;
  my %env = map { my $kv = unhex($_); my $i = index($kv, "="); (substr($kv, 0, $i), substr($kv, $i + 1)) } splice(@rest, 0, $envc);
  ($exit_file, $log, $procs, $cwd) = map { unhex($_) } ($exit_file, $log, $procs, $cwd);
  # Its exit file, empty until it has exited (an old one, of an earlier start, is emptied).
  if ($exit_file ne "" && open(my $fh, ">", $exit_file)) { close($fh); }
  # The child reports a failure before exec through this pipe; it closes on exec (close-on-exec).
  pipe(my $status_r, my $status_w) or return say_line("failed $seq pipe " . hex_of("$!"));
  my $pid = fork();
  if (!defined $pid) {
    close($status_r);
    close($status_w);
    return say_line("failed $seq fork " . hex_of("$!"));
  }
  if ($pid == 0) {
    close($status_r);
    $SIG{$_} = "DEFAULT" for qw(CHLD PIPE HUP INT TERM QUIT USR1 USR2);
    my $fail = sub {
      my ($stage, $code) = @_;
      syswrite($status_w, "$stage " . hex_of("$!"));
      _exit($code);
    };
    setsid();
    # Its own cgroup first: from here on, everything it forks is inside it.
    if ($procs ne "") {
      open(my $fh, ">", $procs) or $fail->("cgroup", 125);
      print $fh "$$\n";
      close($fh) or $fail->("cgroup", 125);
    }
    chdir($cwd) or $fail->("cwd", 125);
    open(STDIN, "<", "/dev/null") or $fail->("stdin", 125);
    open(STDOUT, ">>", $log) or $fail->("log", 125);
    open(STDERR, ">&", \*STDOUT) or $fail->("log", 125);
    close($wake_r);
    close($wake_w);
    %ENV = %env;
    { no warnings "exec"; exec { $argv[0] } @argv; }
    # Like a shell: 127 when the command is not found, 126 when it cannot be run; said in its log.
    my $code = $!{ENOENT} ? 127 : 126;
    print STDERR "podvisor: cannot run $argv[0]: $!\n";
    _exit($code);
  }
  close($status_w);
  my $report = "";
  while (1) {
    my $n = sysread($status_r, $report, 4096, length $report);
    last if defined $n && $n == 0;
    next if !defined $n && $! == EINTR;
    last unless defined $n;
  }
  close($status_r);
  if ($report ne "") {
    waitpid($pid, 0);    # it has exited already (or is about to): reap it here, it was never a container
    my ($stage, $error) = split(/ /, $report, 2);
    return say_line("failed $seq $stage " . ($error // ""));
  }
  (my $cgroup = $procs) =~ s{/cgroup\.procs$}{};    # "" without a cgroup
  $live{$pid} = [$exit_file, $cgroup];
  say_line("started $seq $pid");
}

sub handle {
  my @fields = split(/ /, $_[0]);
  my $op = shift @fields // "";
  if ($op eq "spawn") {
    spawn(@fields);
  } elsif ($op eq "signal") {
    my ($seq, $pid, $signo) = @fields;
    # Only our own child that has not been reaped: its pid cannot belong to anyone else.
    kill($signo, $pid) if exists $live{$pid};
    say_line("ok $seq");
  } elsif ($op eq "watch") {
    watch(@fields);
  }
}

while ($daemon || %live || %watched) {
  reap();
  flush_output();
  last unless $daemon || %live || %watched;
  my $read = $watched_bits;
  vec($read, fileno($wake_r), 1) = 1;
  vec($read, 0, 1) = 1 if $daemon;
  # A second at most: reaping is also driven by the clock, so a wakeup lost in a way not understood
  # (a report after a kill was once seen missing for 2 s under a loaded test run) costs a second, not more.
  my $ready = select(my $got = $read, undef, undef, 1);
  next if $ready < 0;
  # The watched pidfds are looked through only when one of them is ready, not at every child's exit.
  end_watched($got) if $ready > vec($got, fileno($wake_r), 1) + ($daemon ? vec($got, 0, 1) : 0);
  if (vec($got, fileno($wake_r), 1)) {
    my $drain;
    sysread($wake_r, $drain, 4096);
  }
  next unless $daemon && vec($got, 0, 1);
  my $n = sysread(STDIN, $input, 65536, length $input);
  next if !defined $n && $! == EINTR;
  if (!$n) {
    $daemon = 0;    # the daemon closed our stdin or died: go on reaping, then end
    next;
  }
  while ((my $newline = index($input, "\n")) >= 0) {
    my $line = substr($input, 0, $newline + 1, "");
    chomp $line;
    handle($line);
  }
}
