#!/usr/bin/perl
# podvisor's command runner: runs the host tools (mount, umount, unshare, ip, …) that the daemon
# asks for, from this small process. See command-runner.ts for why, and for the protocol, which is,
# one line each:
#
#   in:  run SEQ INPUT-HEX ARGC ARG-HEX... [ENVC ENV-HEX...]
#                                                (an empty ARG is "-"; INPUT-HEX "-" for none: stdin is
#                                                 /dev/null; with ENVC, the command's whole environment
#                                                 is those NAME=VALUE entries instead of this process's)
#        kill SEQ                                (SIGKILL to that command's process group, if it still runs)
#        umount SEQ FLAGS ARGC PATH-HEX...        (umount2(2) of each path in order, in this process)
#   out: done SEQ WAIT-STATUS STDOUT-HEX STDERR-HEX   (an empty output is "-")
#        failed SEQ ERRNO-TEXT-HEX               (no process: fork or a pipe failed)
#        umounted SEQ ERRNO,...                  (per path: 0, or the errno umount2 gave; "-1": no
#                                                 umount2 known on this machine, use umount(8))
#
# A command that cannot be executed ends with status 127 and says why on its stderr, as a shell
# would. Each command leads a process group of its own, so that a kill reaches what it started (a
# CNI bridge plugin runs host-local as its child). Each command runs with stdout and stderr on pipes of their own, and "done" is sent once it
# is reaped and both pipes are at their end. When the daemon goes away (stdin at its end), this
# process ends at once: what it runs is short-lived, and the daemon that asked is gone. Only
# perl-base modules: present on every Debian.
use strict;
use warnings;
use POSIX qw(WNOHANG _exit);
use Errno qw(EINTR EAGAIN);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);

# Inherited descriptors other than stdin/stdout/stderr: never pass the daemon's on.
if (opendir(my $fds, "/proc/self/fd")) {
  my @inherited = grep { /^\d+$/ && $_ > 2 } readdir($fds);
  closedir($fds);
  POSIX::close($_) for @inherited;
}
open(STDERR, ">", "/dev/null");

my %running;    # seq => { pid, out, err (handles or undef once at their end), stdout, stderr, input, in, status }
my %by_pid;     # pid => seq
my $input = "";
my $output = "";
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
$wake_w->blocking(0);
$wake_r->blocking(0);
# perl runs a handler between two ops, not when the signal comes: `local $!` keeps the errno of the
# system call it may follow (a sysread's EAGAIN must not turn into something else).
$SIG{CHLD} = sub { local $!; syswrite($wake_w, "x") };
$SIG{PIPE} = "IGNORE";
$SIG{$_} = "IGNORE" for qw(HUP INT TERM QUIT USR1 USR2);

sub unhex { return pack("H*", $_[0]) }
sub hex_or_dash { my $text = $_[0]; return length($text) ? unpack("H*", $text) : "-" }

sub flush_output {
  while (length $output) {
    my $n = syswrite(STDOUT, $output);
    if (!defined $n) {
      next if $! == EINTR;
      if ($! == EAGAIN) { my $w = ""; vec($w, 1, 1) = 1; select(undef, $w, undef, 1); next; }
      exit 0;    # the daemon is gone
    }
    substr($output, 0, $n, "");
  }
}

sub finish_if_done {
  my ($seq) = @_;
  my $command = $running{$seq};
  return if !defined $command->{status} || defined $command->{out} || defined $command->{err};
  $output .= "done $seq $command->{status} " . hex_or_dash($command->{stdout}) . " " . hex_or_dash($command->{stderr}) . "\n";
  close($command->{in}) if defined $command->{in};
  delete $running{$seq};
}

sub start {
  my ($seq, $stdin_hex, $argv, $env) = @_;
  my @argv = @$argv;
  my ($in_r, $in_w, $out_r, $out_w, $err_r, $err_w);
  my $has_input = $stdin_hex ne "-";
  if (($has_input && !pipe($in_r, $in_w)) || !pipe($out_r, $out_w) || !pipe($err_r, $err_w)) {
    $output .= "failed $seq " . unpack("H*", "cannot make a pipe: $!") . "\n";
    return;
  }
  my $pid = fork();
  if (!defined $pid) {
    $output .= "failed $seq " . unpack("H*", "cannot fork: $!") . "\n";
    return;
  }
  if ($pid == 0) {
    $SIG{$_} = "DEFAULT" for qw(CHLD PIPE HUP INT TERM QUIT USR1 USR2);
    POSIX::setpgid(0, 0);
    %ENV = map { split(/=/, $_, 2) } @$env if defined $env;
    if ($has_input) { POSIX::dup2(fileno($in_r), 0) } else { open(STDIN, "<", "/dev/null") }
    POSIX::dup2(fileno($out_w), 1);
    POSIX::dup2(fileno($err_w), 2);
    POSIX::close($_) for grep { $_ > 2 } map { fileno($_) } grep { defined } ($in_r, $in_w, $out_r, $out_w, $err_r, $err_w, $wake_r, $wake_w);
    { no warnings "exec"; exec { $argv[0] } @argv; }
    syswrite(STDERR, "$argv[0]: cannot execute: $!\n");
    _exit(127);
  }
  POSIX::setpgid($pid, $pid);    # also here: a kill may come before the child has run
  close($out_w);
  close($err_w);
  close($in_r) if $has_input;
  $_->blocking(0) for grep { defined } ($out_r, $err_r, $in_w);
  $running{$seq} = { pid => $pid, out => $out_r, err => $err_r, stdout => "", stderr => "", input => $has_input ? unhex($stdin_hex) : "", in => $in_w };
  $by_pid{$pid} = $seq;
  feed($seq);
}

# Writes what it can of a command's input; closes its stdin once all is written (or it is gone).
sub feed {
  my ($seq) = @_;
  my $command = $running{$seq};
  return unless defined $command->{in};
  while (length $command->{input}) {
    my $n = syswrite($command->{in}, $command->{input});
    if (!defined $n) {
      return if $! == EAGAIN;
      next if $! == EINTR;
      $command->{input} = "";    # it closed its stdin: the rest is not wanted
      last;
    }
    substr($command->{input}, 0, $n, "");
  }
  close($command->{in});
  $command->{in} = undef;
}

sub drain {
  my ($seq, $which) = @_;
  my $command = $running{$seq};
  my $fh = $command->{$which};
  my $into = $which eq "out" ? "stdout" : "stderr";
  while (1) {
    my $n = sysread($fh, my $chunk, 65536);
    if (!defined $n) {
      return if $! == EAGAIN;
      next if $! == EINTR;
      $n = 0;
    }
    if ($n == 0) {
      close($fh);
      $command->{$which} = undef;
      finish_if_done($seq);
      return;
    }
    $command->{$into} .= $chunk;
  }
}

sub reap {
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $seq = delete $by_pid{$pid};
    next unless defined $seq;
    $running{$seq}{status} = $?;
    finish_if_done($seq);
  }
}

# umount2(2) by its number (perl-base has syscall(), not the headers): unmounting by path with a
# system call needs no read of the mount table, which umount(8) makes for every file it is given.
my %umount2_number = (x86_64 => 166, aarch64 => 39);
my $umount2 = $umount2_number{(POSIX::uname())[4]};

sub umount_paths {
  my ($seq, $flags, @paths) = @_;
  my @errors = map {
    !defined $umount2 ? -1 : syscall($umount2, $_, $flags + 0) == 0 ? 0 : $! + 0
  } @paths;
  $output .= "umounted $seq " . (@errors ? join(",", @errors) : "-") . "\n";
}

sub handle_line {
  my @fields = split(/ /, $_[0]);
  my $op = shift @fields;
  if ($op eq "run" && @fields >= 3) {
    my ($seq, $stdin_hex, $argc, @rest) = @fields;
    my @argv = map { $_ eq "-" ? "" : unhex($_) } @rest[0 .. $argc - 1];
    my $env;
    if (@rest > $argc) {
      my $envc = $rest[$argc];
      $env = [map { unhex($_) } @rest[$argc + 1 .. $argc + $envc]];
    }
    start($seq, $stdin_hex, \@argv, $env);
  } elsif ($op eq "umount" && @fields >= 3) {
    my ($seq, $flags, $argc, @rest) = @fields;
    umount_paths($seq, $flags, map { unhex($_) } @rest[0 .. $argc - 1]);
  } elsif ($op eq "kill" && @fields == 1) {
    my $command = $running{$fields[0]};
    kill("KILL", -$command->{pid}) || kill("KILL", $command->{pid}) if defined $command && !defined $command->{status};
  }
}

STDIN->blocking(0);
STDOUT->blocking(0);
while (1) {
  flush_output();
  my $read = "";
  vec($read, 0, 1) = 1;
  vec($read, fileno($wake_r), 1) = 1;
  my $write = "";
  my $timeout;    # none: until a descriptor is ready or a signal comes
  for my $command (values %running) {
    vec($read, fileno($command->{$_}), 1) = 1 for grep { defined $command->{$_} } qw(out err);
    vec($write, fileno($command->{in}), 1) = 1 if defined $command->{in};
    # Its pipes are at their end but it was not reaped yet (a process closes its descriptors before
    # it becomes a zombie). Its SIGCHLD may come after the last check for signals and before select()
    # blocks: perl runs handlers between ops, so that handler would write the wake pipe only once
    # something else woke select — seen as a `sync` answered a minute late. Look again soon instead.
    $timeout = 0.005 if !defined $command->{out} && !defined $command->{err} && !defined $command->{status};
  }
  my $n = select(my $r = $read, my $w = $write, undef, $timeout);
  next if $n < 0;
  if (vec($r, fileno($wake_r), 1)) { 1 while sysread($wake_r, my $drop, 512); }
  for my $seq (keys %running) {
    my $command = $running{$seq};
    feed($seq) if defined $command->{in} && vec($w, fileno($command->{in}), 1);
    drain($seq, "out") if defined $command->{out} && vec($r, fileno($command->{out}), 1);
    drain($seq, "err") if exists $running{$seq} && defined $command->{err} && vec($r, fileno($command->{err}), 1);
  }
  reap();
  if (vec($r, 0, 1)) {
    my $got = sysread(STDIN, my $chunk, 65536);
    next if !defined $got && ($! == EAGAIN || $! == EINTR);
    exit 0 if !$got;    # the daemon is gone
    $input .= $chunk;
    while ((my $newline = index($input, "\n")) >= 0) {
      handle_line(substr($input, 0, $newline));
      substr($input, 0, $newline + 1, "");
    }
  }
}
